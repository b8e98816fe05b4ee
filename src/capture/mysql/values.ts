/**
 * MySQL/MariaDB column values → `Value`, in the representation the PostgreSQL
 * source gives (postgres/decode-value.ts) and the Debezium path produces:
 *
 * - TINYINT…INT, YEAR: numbers; BIGINT: exact decimal text (as int8 is);
 * - DECIMAL: exact decimal text with the column's scale (`'12345678901234.5678'`);
 * - FLOAT: the shortest decimal that reads back as the same float32 (the
 *   binlog carries the float32, a query prints it; both become e.g. `1.1`);
 *   DOUBLE: the number;
 * - DATE `YYYY-MM-DD`; DATETIME `YYYY-MM-DDTHH:MM:SS[.f]`; TIMESTAMP the UTC
 *   instant `YYYY-MM-DDTHH:MM:SS[.f]Z`; TIME `[-]HH:MM:SS[.f]` (hours may
 *   exceed 24). Fractions keep every digit (microseconds) and drop trailing
 *   zeros, as PostgreSQL prints them. Zero dates (`0000-00-00…`) are null, as
 *   Debezium makes them: no other system can hold them;
 * - JSON: parsed (MariaDB's JSON is LONGTEXT with a json_valid check: which
 *   columns are JSON comes from information_schema);
 * - CHAR/VARCHAR/TEXT: the text; BINARY/VARBINARY/BLOB: base64;
 * - BIT(n): the n-digit bit string (`'1010000011'`), as PostgreSQL's bit(n);
 * - ENUM, SET: their text (`'b,c'` for a SET).
 *
 * The same function serves the binlog (values as @vlasky/zongji decodes them
 * with `dateStrings: true, timezone: 'Z'`) and the snapshot (mysql2 with
 * `dateStrings`, `bigNumberStrings` and the session time zone in UTC), so a
 * row read in the snapshot and the same row streamed later compare equal.
 */
import type { Value } from '../change-event';
import { DecodeError } from '../../errors';
import { bitsFromBigEndian, bitsOf, canonicalFloat, canonicalFloat32, canonicalJson } from '../canonical';

export type ColumnKind =
  | 'int' | 'bigint' | 'float' | 'double' | 'decimal' | 'date' | 'datetime' | 'timestamp' | 'time' | 'year'
  | 'json' | 'text' | 'bytes' | 'bit' | 'enum' | 'set' | 'other';

export interface ColumnType {
  kind: ColumnKind;
  /** BIT(n): n. */
  bits?: number;
}

/** Binlog (table map) column type codes, as in MySQL's enum_field_types. */
const BINLOG_KINDS: Record<number, ColumnKind> = {
  0: 'decimal', 1: 'int', 2: 'int', 3: 'int', 4: 'float', 5: 'double', 7: 'timestamp', 8: 'bigint', 9: 'int',
  10: 'date', 11: 'time', 12: 'datetime', 13: 'year', 14: 'date', 16: 'bit', 17: 'timestamp', 18: 'datetime',
  19: 'time', 245: 'json', 246: 'decimal', 247: 'enum', 248: 'set', 255: 'other',
};
/** String and blob codes: text or bytes depending on the column's character set. */
const STRING_CODES = new Set([15, 140, 141, 249, 250, 251, 252, 253, 254]);

/**
 * Kind of a binlog column. `isText`: the column has a character set (not
 * binary), which zongji tells by handing a string rather than a Buffer.
 */
export function kindOfBinlogColumn(typeCode: number, isJson: boolean, isText: boolean, bits?: number): ColumnType {
  if (isJson) return { kind: 'json' };
  if (STRING_CODES.has(typeCode)) return { kind: isText ? 'text' : 'bytes' };
  const kind = BINLOG_KINDS[typeCode] ?? 'other';
  return kind === 'bit' ? { kind, bits: bits ?? 1 } : { kind };
}

/** Kind from information_schema.COLUMNS (DATA_TYPE, NUMERIC_PRECISION for BIT). */
export function kindOfSchemaColumn(dataType: string, isJson: boolean, bitWidth?: number | null): ColumnType {
  if (isJson) return { kind: 'json' };
  switch (dataType.toLowerCase()) {
    case 'tinyint': case 'smallint': case 'mediumint': case 'int': case 'integer': return { kind: 'int' };
    case 'bigint': return { kind: 'bigint' };
    case 'float': return { kind: 'float' };
    case 'double': case 'real': case 'double precision': return { kind: 'double' };
    case 'decimal': case 'numeric': case 'fixed': return { kind: 'decimal' };
    case 'date': return { kind: 'date' };
    case 'datetime': return { kind: 'datetime' };
    case 'timestamp': return { kind: 'timestamp' };
    case 'time': return { kind: 'time' };
    case 'year': return { kind: 'year' };
    case 'json': return { kind: 'json' };
    case 'char': case 'varchar': case 'tinytext': case 'text': case 'mediumtext': case 'longtext': return { kind: 'text' };
    case 'binary': case 'varbinary': case 'tinyblob': case 'blob': case 'mediumblob': case 'longblob': return { kind: 'bytes' };
    case 'bit': return { kind: 'bit', bits: bitWidth ?? 1 };
    case 'enum': return { kind: 'enum' };
    case 'set': return { kind: 'set' };
    default: return { kind: 'other' };
  }
}

export function convertValue(raw: unknown, type: ColumnType): Value {
  if (raw === null || raw === undefined) return type.kind === 'enum' || type.kind === 'set' ? (raw === undefined ? '' : null) : null;
  switch (type.kind) {
    case 'int':
    case 'year':
      return integer(raw);
    case 'bigint':
      return bigintText(raw);
    case 'float':
      return shortestFloat32(number(raw));
    case 'double':
      return canonicalFloat(number(raw));
    case 'decimal':
      return decimalText(raw);
    case 'date':
      return date(text(raw));
    case 'datetime':
      return localDateTime(text(raw));
    case 'timestamp': {
      const local = localDateTime(text(raw));
      return local === null ? null : `${local}Z`;
    }
    case 'time':
      return time(text(raw));
    case 'json':
      return json(raw);
    case 'text':
    case 'enum':
    case 'set':
      return Buffer.isBuffer(raw) ? raw.toString('utf8') : text(raw);
    case 'bytes':
      return Buffer.isBuffer(raw) ? raw.toString('base64') : Buffer.from(text(raw), 'utf8').toString('base64');
    case 'bit':
      return bitString(raw, type.bits ?? 1);
    case 'other':
      return other(raw);
  }
}

/** What the drivers hand over for a scalar: anything else (an array, an object) is refused, not stringified. */
function scalarText(raw: unknown, what: string): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'bigint') return String(raw);
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  throw new DecodeError(`not ${what}: a ${Array.isArray(raw) ? 'array' : typeof raw}`);
}

function integer(raw: unknown): number | string {
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return raw;
  const t = scalarText(raw, 'an integer');
  if (!/^-?\d+$/.test(t)) throw new DecodeError(`not an integer: ${t.slice(0, 40)}`);
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : t;
}

function bigintText(raw: unknown): string {
  if (typeof raw === 'bigint') return raw.toString();
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return String(raw);
  const t = scalarText(raw, 'a BIGINT');
  if (!/^-?\d+$/.test(t)) throw new DecodeError(`not a BIGINT: ${t.slice(0, 40)}`);
  return t;
}

const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^-?(?:NaN|Infinity|inf|nan)$/;

function number(raw: unknown): number {
  if (typeof raw === 'number') return raw;
  const t = scalarText(raw, 'a number');
  // Number() would also take '', ' ', '0x10': only what a server prints is a number here.
  if (!FLOAT_TEXT.test(t)) throw new DecodeError(`not a number: ${t.slice(0, 40)}`);
  return /inf/i.test(t) ? (t.startsWith('-') ? -Infinity : Infinity) : Number(t);
}

/** The shortest decimal that reads back as the same float32 (what MySQL prints for a FLOAT). */
export const shortestFloat32 = canonicalFloat32;

const DECIMAL = /^-?\d+(\.\d+)?$/;

function decimalText(raw: unknown): string {
  const t = scalarText(raw, 'an exact decimal');
  if (!DECIMAL.test(t)) throw new DecodeError(`not an exact decimal: ${t.slice(0, 40)}`);
  return t;
}

function text(raw: unknown): string {
  if (raw instanceof Date) throw new DecodeError('a temporal value arrived as a Date: the connection must use dateStrings');
  return scalarText(raw, 'text');
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;
const TIME = /^(-?)(\d{2,3}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

const fraction = (digits: string | undefined): string => {
  const f = (digits ?? '').replace(/0+$/, '');
  return f ? `.${f}` : '';
};

/** A zero date, or one with a zero month or day, has no ISO form: null. */
const isZeroDate = (y: string, m: string, d: string): boolean => y === '0000' || m === '00' || d === '00';

function date(t: string): string | null {
  const m = DATE.exec(t);
  if (!m) throw new DecodeError(`not a DATE: ${t.slice(0, 40)}`);
  return isZeroDate(m[1]!, m[2]!, m[3]!) ? null : t;
}

function localDateTime(t: string): string | null {
  const m = DATETIME.exec(t);
  if (!m) throw new DecodeError(`not a DATETIME/TIMESTAMP: ${t.slice(0, 40)}`);
  const [, y, mo, d, h, mi, s, f] = m;
  if (isZeroDate(y!, mo!, d!)) return null;
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${fraction(f)}`;
}

function time(t: string): string {
  const m = TIME.exec(t);
  if (!m) throw new DecodeError(`not a TIME: ${t.slice(0, 40)}`);
  const [, sign, h, mi, s, f] = m;
  return `${sign}${h}:${mi}:${s}${fraction(f)}`;
}

function json(raw: unknown): Value {
  if (Buffer.isBuffer(raw) || typeof raw === 'string') {
    const t = text(raw);
    try {
      // MariaDB's JSON is text: the same canonical form as PostgreSQL's json/jsonb, no number rounded.
      return canonicalJson(t);
    } catch (error) {
      throw new DecodeError(`bad JSON value: ${t.slice(0, 100)}`, {}, { cause: error });
    }
  }
  // MySQL's binary JSON, decoded by zongji (64-bit integers beyond 2^53 as exact strings).
  return raw as Value;
}

/** Big-endian bytes → the n-digit bit string. */
export function bitString(raw: unknown, bits: number): string {
  let out: string | null;
  if (Buffer.isBuffer(raw)) out = bitsFromBigEndian(raw, bits);
  else if ((typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0) || (typeof raw === 'bigint' && raw >= 0n)) out = bitsOf(BigInt(raw), bits);
  else throw new DecodeError(`not a BIT value: ${String(raw).slice(0, 40)}`);
  if (out === null) throw new DecodeError(`a BIT(${bits}) value has more than ${bits} bits`);
  return out;
}

function other(raw: unknown): Value {
  if (Buffer.isBuffer(raw)) return raw.toString('base64');
  if (raw instanceof Date) return raw.toISOString();
  if (typeof raw === 'bigint') return raw.toString();
  return raw as Value;
}
