/**
 * Column decoders compiled once per Connect schema. A topic's messages repeat
 * one schema, so what `decodeWithSchema` works out per value (which semantic
 * type, which scale, whether a boolean is a BIT) is settled here once, and
 * the common shapes of a value take a short path. Every short path gives
 * exactly what `decodeWithSchema` gives; anything off it (an unusual value,
 * a malformed one, a rarer type) goes to `decodeWithSchema` itself, so
 * results and error messages stay the same (property-tested against it).
 */
import type { Value } from '../change-event';
import { canonicalFloat } from '../canonical';
import type { ConnectSchema } from './connect-schema';
import type { Json } from './lossless-json';
import { decodeWithSchema } from './values';

/** Decodes one non-null value that is not the unavailable placeholder. */
export type ColumnDecoder = (raw: Json) => Value;

/** Column name → decoder of a struct's fields; the first field of a name wins, as `fieldOf` finds it. */
export type RowPlan = ReadonlyMap<string, ColumnDecoder>;

export function compileRow(rowSchema: ConnectSchema): RowPlan {
  const plan = new Map<string, ColumnDecoder>();
  for (const field of rowSchema.fields ?? []) {
    if (field.field !== undefined && !plan.has(field.field)) plan.set(field.field, compileColumn(field));
  }
  return plan;
}

/** Names `decodeWithSchema` treats specially (besides io.debezium.data.geometry.*). */
const SEMANTIC_NAMES: ReadonlySet<string> = new Set([
  'org.apache.kafka.connect.data.Decimal', 'io.debezium.data.VariableScaleDecimal', 'io.debezium.time.Date',
  'org.apache.kafka.connect.data.Date', 'io.debezium.time.Time', 'org.apache.kafka.connect.data.Time',
  'io.debezium.time.MicroTime', 'io.debezium.time.NanoTime', 'io.debezium.time.Timestamp',
  'org.apache.kafka.connect.data.Timestamp', 'io.debezium.time.MicroTimestamp', 'io.debezium.time.NanoTimestamp',
  'io.debezium.time.ZonedTimestamp', 'io.debezium.time.ZonedTime', 'io.debezium.time.MicroDuration',
  'io.debezium.time.Interval', 'io.debezium.data.Json', 'io.debezium.data.Bits', 'io.debezium.data.Uuid',
  'io.debezium.data.Enum', 'io.debezium.data.EnumSet', 'io.debezium.data.Xml', 'io.debezium.data.Ltree',
  'io.debezium.time.IsoDate', 'io.debezium.time.IsoTime', 'io.debezium.time.IsoTimestamp',
]);

/** Semantic types whose JSON string is the value itself (TEXT_TYPES of values.ts). */
const TEXT_NAMES: ReadonlySet<string> = new Set([
  'io.debezium.data.Uuid', 'io.debezium.data.Enum', 'io.debezium.data.EnumSet', 'io.debezium.data.Xml',
  'io.debezium.data.Ltree', 'io.debezium.time.IsoDate', 'io.debezium.time.IsoTime', 'io.debezium.time.IsoTimestamp',
]);

export function compileColumn(schema: ConnectSchema): ColumnDecoder {
  const generic: ColumnDecoder = (raw) => decodeWithSchema(raw, schema);
  const name = schema.name ?? '';
  if (name === 'org.apache.kafka.connect.data.Decimal') return compileDecimal(schema, generic);
  if (name === 'io.debezium.time.ZonedTimestamp') return (raw) => (typeof raw === 'string' && isNormalUtcTimestamp(raw) ? raw : generic(raw));
  if (TEXT_NAMES.has(name)) return (raw) => (typeof raw === 'string' ? raw : generic(raw));
  if (SEMANTIC_NAMES.has(name) || name.startsWith('io.debezium.data.geometry.')) return generic;
  return compileByType(schema, generic);
}

function sourceColumnType(schema: ConnectSchema): string {
  return (schema.parameters?.['__debezium.source.column.type'] ?? '').toUpperCase();
}

function compileByType(schema: ConnectSchema, generic: ColumnDecoder): ColumnDecoder {
  switch (schema.type) {
    case 'int8':
    case 'int16':
    case 'int32':
      // integer() goes through BigInt, which makes -0 a plain 0.
      return (raw) => (typeof raw === 'number' && Number.isSafeInteger(raw) ? (raw === 0 ? 0 : raw) : generic(raw));
    case 'int64':
      return (raw) => (typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : generic(raw));
    case 'double':
    case 'float64':
      if (sourceColumnType(schema) === 'FLOAT') return generic;
      return (raw) => (typeof raw === 'number' ? canonicalFloat(raw) : generic(raw));
    case 'boolean':
      if (sourceColumnType(schema) === 'BIT') return generic;
      return (raw) => (typeof raw === 'boolean' ? raw : generic(raw));
    case 'string':
      return (raw) => (typeof raw === 'string' ? raw : generic(raw));
    default:
      return generic;
  }
}

/**
 * Precise decimals of up to 6 bytes (|unscaled| < 2^47, every numeric(15) and
 * most money columns) are read with plain numbers; longer ones, NUMERIC-format
 * numbers and anything malformed take `decodeWithSchema`.
 */
function compileDecimal(schema: ConnectSchema, generic: ColumnDecoder): ColumnDecoder {
  const scaleText = schema.parameters?.scale;
  const scale = Number(scaleText);
  if (scaleText === undefined || !Number.isSafeInteger(scale) || scale <= 0 || scale > 100) return generic;
  const precision = Number(schema.parameters?.['connect.decimal.precision']);
  // 2^47 < 10^15: a precision of 15 or more cannot be exceeded by 6 bytes.
  const limit = Number.isSafeInteger(precision) && precision > 0 && precision < 15 ? 10 ** precision : Infinity;
  return (raw) => {
    if (typeof raw !== 'string') return generic(raw);
    const unscaled = smallBase64Integer(raw);
    if (unscaled === null || Math.abs(unscaled) >= limit) return generic(raw);
    return formatSmallDecimal(unscaled, scale);
  };
}

const BASE64_DIGITS = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) BASE64_DIGITS['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

function digit(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c < 128 ? BASE64_DIGITS[c]! : -1;
}

/**
 * Canonical padded base64 of 1 to 6 bytes → the big-endian two's-complement
 * integer they hold; null for anything else (longer, empty, not canonical).
 */
export function smallBase64Integer(text: string): number | null {
  const length = text.length;
  if (length !== 4 && length !== 8) return null;
  let value = 0;
  let bytes = 0;
  for (let i = 0; i < length; i += 4) {
    const a = digit(text, i);
    const b = digit(text, i + 1);
    if (a < 0 || b < 0) return null;
    const c3 = text.charCodeAt(i + 2);
    const c4 = text.charCodeAt(i + 3);
    const last = i + 4 === length;
    if (last && c3 === 0x3d && c4 === 0x3d) {
      if (b & 0x0f) return null; // unused bits must be zero
      value = value * 0x100 + ((a << 2) | (b >> 4));
      bytes += 1;
      break;
    }
    const c = digit(text, i + 2);
    if (c < 0) return null;
    if (last && c4 === 0x3d) {
      if (c & 0x03) return null;
      value = value * 0x10000 + ((a << 10) | (b << 4) | (c >> 2));
      bytes += 2;
      break;
    }
    const d = digit(text, i + 3);
    if (d < 0) return null;
    value = value * 0x1000000 + ((a << 18) | (b << 12) | (c << 6) | d);
    bytes += 3;
  }
  // The top bit of the first byte is the sign.
  const width = 2 ** (bytes * 8);
  return value >= width / 2 ? value - width : value;
}

/** What formatDecimal(BigInt(unscaled), scale) gives, for a safe integer and scale > 0. */
function formatSmallDecimal(unscaled: number, scale: number): string {
  const negative = unscaled < 0;
  const digits = String(negative ? -unscaled : unscaled).padStart(scale + 1, '0');
  const text = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Whether a ZonedTimestamp is already in the form normalizeZonedTimestamp
 * gives: `YYYY-MM-DDTHH:MM:SS[.f]Z`, year 0001–9999, a real date, hour < 24,
 * second < 60, a fraction without trailing zeros. Debezium's PostgreSQL
 * timestamptz values are; normalising them again would give the same text.
 */
export function isNormalUtcTimestamp(t: string): boolean {
  const n = t.length;
  if (n < 20 || n > 30 || t.charCodeAt(n - 1) !== 0x5a /* Z */) return false;
  if (t.charCodeAt(4) !== 0x2d || t.charCodeAt(7) !== 0x2d || t.charCodeAt(10) !== 0x54 || t.charCodeAt(13) !== 0x3a || t.charCodeAt(16) !== 0x3a) return false;
  const year = digits(t, 0, 4);
  const month = digits(t, 5, 2);
  const day = digits(t, 8, 2);
  const hour = digits(t, 11, 2);
  const minute = digits(t, 14, 2);
  const second = digits(t, 17, 2);
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month]!)) return false;
  if (n === 20) return true;
  // `.` then 1–9 digits, the last not 0, then Z.
  if (t.charCodeAt(19) !== 0x2e || n === 21) return false;
  for (let i = 20; i < n - 1; i++) {
    const c = t.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return t.charCodeAt(n - 2) !== 0x30;
}

/** The decimal value of `width` ASCII digits at `at`; -1 if any is not a digit. */
function digits(t: string, at: number, width: number): number {
  let v = 0;
  for (let i = at; i < at + width; i++) {
    const c = t.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}
