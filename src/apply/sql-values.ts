/**
 * Values as a SQL target returns them, made comparable with canonical values.
 * Drivers disagree on representation ('12.50' vs 12.5, `+00` vs `Z`), so
 * "does the target already hold this value" compares by meaning for the
 * column kinds where representations differ: exact decimals and instants.
 */
import type { Value } from '../capture';

/** What a column holds, as far as comparing values is concerned. */
/** `json`: a json/jsonb column, where an array is a JSON array, not an SQL array. */
export type ColumnKind = 'decimal' | 'instant' | 'json' | 'other';

/** A raw driver value → `Value` (bytes as base64, like capture; dates as ISO text). */
export function toValue(raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') return raw;
  if (typeof raw === 'bigint') return raw.toString();
  if (Buffer.isBuffer(raw)) return raw.toString('base64');
  if (raw instanceof Date) return raw.toISOString();
  if (Array.isArray(raw)) return raw.map(toValue);
  if (typeof raw === 'object') {
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, toValue(v)]));
  }
  return String(raw);
}

/** Whether two canonical values mean the same for a column of `kind`. */
export function sameValue(a: Value, b: Value, kind: ColumnKind): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (kind === 'decimal') {
    const byNumber = sameDecimal(a, b);
    if (byNumber !== undefined) return byNumber;
  }
  if (kind === 'instant') {
    const ia = instantKey(a);
    const ib = instantKey(b);
    if (ia !== null && ib !== null) return ia === ib;
  }
  if (Array.isArray(a) || Array.isArray(b)) return sameArray(a, b, kind);
  if (typeof a === 'object' && typeof b === 'object') return sameObject(a, b);
  return false;
}

function sameArray(a: Value, b: Value, kind: ColumnKind): boolean {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  return a.every((item, i) => sameValue(item, b[i] ?? null, kind));
}

function sameObject(a: { [key: string]: Value }, b: { [key: string]: Value }): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => k in b && sameValue(a[k] ?? null, b[k] ?? null, 'other'));
}

/** undefined when either side is not a number (then other rules decide). */
function sameDecimal(a: Value, b: Value): boolean | undefined {
  // MySQL has no boolean type: TINYINT(1) reads back as 0/1.
  const da = decimalKey(typeof a === 'boolean' ? Number(a) : a);
  const db = decimalKey(typeof b === 'boolean' ? Number(b) : b);
  return da === null || db === null ? undefined : da === db;
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * A decimal's exact identity: `12.50`, `12.5` and `1.25e1` all give `1125e-1`
 * style keys that are equal. No floating point is involved, so large or
 * precise decimals never compare equal by rounding.
 */
export function decimalKey(value: Value): string | null {
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  if (typeof value !== 'number' && typeof value !== 'string') return null;
  const m = DECIMAL.exec(String(value).trim());
  if (!m) return null;
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  if (int === '' && frac === '') return null;
  let digits = (int + frac).replace(/^0+/, '');
  let exponent = Number(exp) - frac.length;
  if (digits === '') return '0';
  const trailing = /0+$/.exec(digits)?.[0].length ?? 0;
  digits = digits.slice(0, digits.length - trailing);
  exponent += trailing;
  return `${sign === '-' ? '-' : ''}${digits}e${exponent}`;
}

const INSTANT =
  /^(-?\d{4,})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.(\d{1,9}))?\s*(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$/i;

/**
 * An instant's identity: UTC seconds and nanoseconds. Text without a zone is
 * read as UTC (both sides of a comparison are, so wall times still compare).
 */
export function instantKey(value: Value): string | null {
  const parts = parseInstant(value);
  return parts && `${parts.seconds}.${parts.fraction}`;
}

interface InstantParts {
  /** UTC seconds since the epoch. */
  seconds: number;
  /** Nine fraction digits. */
  fraction: string;
}

function parseInstant(value: Value): InstantParts | null {
  if (typeof value !== 'string') return null;
  const m = INSTANT.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s = '0', frac = '', zone = 'Z'] = m;
  const local = utcSeconds(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s));
  return { seconds: local - zoneSeconds(zone), fraction: frac.padEnd(9, '0') };
}

function zoneSeconds(zone: string): number {
  if (zone.toUpperCase() === 'Z') return 0;
  const digits = zone.slice(1).replace(/:/g, '');
  const total = Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2, 4) || 0) * 60 + Number(digits.slice(4, 6) || 0);
  return zone.startsWith('-') ? -total : total;
}

function utcSeconds(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime() / 1000;
}

/**
 * An instant with a zone → SQL Server datetime2/datetimeoffset text in UTC,
 * ISO with `T` (read the same whatever the session language), fraction up to
 * 7 digits with trailing zeros dropped (so whole milliseconds also fit a
 * `datetime` column). Values without a zone, or not instants, are unchanged.
 */
export function toSqlServerDateTime(value: Value): Value {
  if (typeof value !== 'string' || !/(Z|[+-]\d{2}(:?\d{2}){0,2})$/i.test(value.trim())) return value;
  const parts = parseInstant(value);
  if (!parts) return value;
  const iso = new Date(parts.seconds * 1000).toISOString().slice(0, 19);
  const fraction = parts.fraction.slice(0, 7).replace(/0+$/, '');
  return fraction ? `${iso}.${fraction}` : iso;
}

/**
 * An instant with a zone → MySQL DATETIME/TIMESTAMP text in UTC (the session
 * time zone tandem sets), since MariaDB rejects `Z` and offsets in literals.
 * Values without a zone, or that are not instants, are returned unchanged.
 */
export function toMysqlDateTime(value: Value): Value {
  if (typeof value !== 'string' || !/(Z|[+-]\d{2}(:?\d{2}){0,2})$/i.test(value.trim())) return value;
  const parts = parseInstant(value);
  if (!parts) return value;
  const iso = new Date(parts.seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
  const micros = parts.fraction.slice(0, 6).replace(/0+$/, '');
  return micros ? `${iso}.${micros}` : iso;
}
