/**
 * One column value as the JsonConverter wrote it → tandem's `Value`, in the
 * representation native capture uses (see postgres/decode-value.ts): int64 and
 * decimals as exact decimal strings, dates/times as ISO text, bytes as
 * base64, json parsed. Driven by the Connect schema when there is one.
 *
 * Without a schema the JSON is all there is: a precise decimal is opaque
 * base64 (its scale is unknown), a date is a day count, a timestamp a number
 * whose unit is unknown. Those pass through as JSON gives them (big or
 * fractional numbers that a double cannot hold exactly become decimal
 * strings), unless the caller supplies a schema for the column.
 */
import type { Value } from '../change-event';
import type { ConnectSchema } from './connect-schema';
import { bytesToBigInt, decodeBase64, formatDecimal, parseDecimalText, rescale } from './decimal';
import { isJsonObject, JsonNumber, numberText, type Json } from './lossless-json';
import { daysFromCivil, formatDate, formatLocalTimestamp, normalizeZonedTime, normalizeZonedTimestamp } from './time';
import {
  bitsFromLittleEndian, canonicalFloat, canonicalFloat32, canonicalInterval, canonicalJson, formatIsoInterval,
  formatSignedTime,
} from '../canonical';

/** Marks a column whose value the source did not send (unchanged TOAST). */
export const UNAVAILABLE: unique symbol = Symbol('unavailable');
export type Decoded = Value | typeof UNAVAILABLE;

export const DEFAULT_PLACEHOLDER = '__debezium_unavailable_value';

/** Thrown for a value that does not fit its schema; the message decoder adds where it was. */
export class ValueError extends Error {}

export interface ValueContext {
  placeholder: string;
  /** The placeholder as bytes, base64: how it appears in bytes-typed columns. */
  placeholderBase64: string;
}

export function valueContext(placeholder = DEFAULT_PLACEHOLDER): ValueContext {
  return { placeholder, placeholderBase64: Buffer.from(placeholder, 'utf8').toString('base64') };
}

export function isUnavailable(raw: Json, ctx: ValueContext): boolean {
  if (raw === ctx.placeholder || raw === ctx.placeholderBase64) return true;
  // Arrays carry the placeholder as their only element; VariableScaleDecimal in its `value` bytes.
  if (Array.isArray(raw)) return raw.length === 1 && (raw[0] === ctx.placeholder || raw[0] === ctx.placeholderBase64);
  if (isJsonObject(raw)) return raw.value === ctx.placeholderBase64 && Object.keys(raw).length <= 2 && 'scale' in raw;
  return false;
}

export function decodeColumn(raw: Json, schema: ConnectSchema | null, ctx: ValueContext): Decoded {
  if (raw === null) return null;
  if (isUnavailable(raw, ctx)) return UNAVAILABLE;
  return schema ? decodeWithSchema(raw, schema) : decodeSchemaless(raw);
}

const TIME_UNITS: Record<string, { kind: 'time' | 'timestamp'; perSecond: bigint }> = {
  'io.debezium.time.Time': { kind: 'time', perSecond: 1000n },
  'org.apache.kafka.connect.data.Time': { kind: 'time', perSecond: 1000n },
  'io.debezium.time.MicroTime': { kind: 'time', perSecond: 1_000_000n },
  'io.debezium.time.NanoTime': { kind: 'time', perSecond: 1_000_000_000n },
  'io.debezium.time.Timestamp': { kind: 'timestamp', perSecond: 1000n },
  'org.apache.kafka.connect.data.Timestamp': { kind: 'timestamp', perSecond: 1000n },
  'io.debezium.time.MicroTimestamp': { kind: 'timestamp', perSecond: 1_000_000n },
  'io.debezium.time.NanoTimestamp': { kind: 'timestamp', perSecond: 1_000_000_000n },
};

/** Semantic types whose JSON string is already the value tandem carries. */
const TEXT_TYPES = new Set([
  'io.debezium.data.Uuid', 'io.debezium.data.Enum', 'io.debezium.data.EnumSet',
  'io.debezium.data.Xml', 'io.debezium.data.Ltree', 'io.debezium.time.IsoDate', 'io.debezium.time.IsoTime',
  'io.debezium.time.IsoTimestamp',
]);

export function decodeWithSchema(raw: Json, schema: ConnectSchema): Value {
  const name = schema.name ?? '';
  if (name === 'org.apache.kafka.connect.data.Decimal') return decodeDecimal(raw, schema);
  if (name === 'io.debezium.data.VariableScaleDecimal') return decodeVariableScaleDecimal(raw);
  if (name === 'io.debezium.time.Date' || name === 'org.apache.kafka.connect.data.Date') {
    const days = integer(raw);
    return INFINITY_DAYS.get(days) ?? formatDate(days);
  }
  const unit = TIME_UNITS[name];
  if (unit) {
    const n = integer(raw);
    // MySQL TIME is a signed duration up to ±838:59:59.999999, PostgreSQL's time may be 24:00:00.
    if (unit.kind === 'time') return formatSignedTime(n, unit.perSecond);
    return infinityTimestamp(n, unit.perSecond) ?? formatLocalTimestamp(n, unit.perSecond);
  }
  if (name === 'io.debezium.time.ZonedTimestamp') return zoned(raw, normalizeZonedTimestamp, 'ZonedTimestamp');
  if (name === 'io.debezium.time.ZonedTime') return zoned(raw, normalizeZonedTime, 'ZonedTime');
  // Months and days were already folded into microseconds by Debezium: only the total is left.
  if (name === 'io.debezium.time.MicroDuration') return formatIsoInterval({ months: 0n, days: 0n, micros: integer(raw) });
  if (name === 'io.debezium.time.Interval') return interval(text(raw));
  if (name === 'io.debezium.data.Json') return parseJsonColumn(text(raw));
  if (name === 'io.debezium.data.Bits') return bits(raw, schema);
  if (TEXT_TYPES.has(name)) return text(raw);
  if (name.startsWith('io.debezium.data.geometry.')) return geometry(raw);
  return decodeByType(raw, schema);
}

function decodeByType(raw: Json, schema: ConnectSchema): Value {
  switch (schema.type) {
    case 'int8':
    case 'int16':
    case 'int32': {
      const n = integer(raw);
      if (n < BigInt(Number.MIN_SAFE_INTEGER) || n > BigInt(Number.MAX_SAFE_INTEGER)) throw new ValueError(`${schema.type} out of range: ${n}`);
      return Number(n);
    }
    case 'int64':
      // Exact decimal text, as native capture gives int8: beyond 2^53 a double would round it.
      return integer(raw).toString();
    // The JsonConverter writes Connect's FLOAT32/FLOAT64 as "float"/"double".
    case 'float':
    case 'float32':
      return canonicalFloat32FromJson(raw);
    case 'double':
    case 'float64':
      // MySQL FLOAT travels as the float64 of its float32; with the source type known it prints as MySQL does.
      return sourceColumnType(schema) === 'FLOAT' ? canonicalFloat32FromJson(raw) : floatValue(raw);
    case 'boolean':
      if (typeof raw !== 'boolean') throw new ValueError(`expected a boolean, got ${describe(raw)}`);
      // BIT(1) is a plain boolean in Debezium; only the propagated source type tells it from a boolean column.
      return sourceColumnType(schema) === 'BIT' ? (raw ? '1' : '0') : raw;
    case 'string':
      return text(raw);
    case 'bytes':
      // Bytes stay base64 (the form native capture gives bytea); checked so garbage does not travel on.
      if (typeof raw !== 'string' || decodeBase64(raw) === null) throw new ValueError(`expected padded base64 bytes, got ${describe(raw)}`);
      return raw;
    case 'array': {
      if (!Array.isArray(raw)) throw new ValueError(`expected an array, got ${describe(raw)}`);
      return raw.map((item) => (item === null ? null : schema.items ? decodeWithSchema(item, schema.items) : decodeSchemaless(item)));
    }
    case 'struct': {
      if (!isJsonObject(raw)) throw new ValueError(`expected an object, got ${describe(raw)}`);
      const out: Record<string, Value> = {};
      for (const [key, item] of Object.entries(raw)) {
        const fieldSchema = schema.fields?.find((f) => f.field === key);
        out[key] = item === null ? null : fieldSchema ? decodeWithSchema(item, fieldSchema) : decodeSchemaless(item);
      }
      return out;
    }
    default:
      // map, and types newer than this code: their JSON as it is.
      return decodeSchemaless(raw);
  }
}

/** No schema: JSON as it is; numbers a double cannot hold exactly become their decimal text. */
export function decodeSchemaless(raw: Json): Value {
  if (raw instanceof JsonNumber) {
    const n = Number(raw.text);
    return Number.isFinite(n) && sameDecimal(raw.text, String(n)) ? n : plainDecimal(raw.text);
  }
  if (Array.isArray(raw)) return raw.map(decodeSchemaless);
  if (isJsonObject(raw)) {
    const out: Record<string, Value> = {};
    for (const [k, v] of Object.entries(raw)) out[k] = decodeSchemaless(v);
    return out;
  }
  return raw;
}

function sameDecimal(a: string, b: string): boolean {
  const x = parseDecimalText(a);
  const y = parseDecimalText(b);
  if (!x || !y) return false;
  const scale = Math.max(x.scale, y.scale);
  return rescale(x.unscaled, x.scale, scale).unscaled === rescale(y.unscaled, y.scale, scale).unscaled;
}

/** `1.5E+3` → `1500`; plain text stays as written. */
function plainDecimal(textValue: string): string {
  const d = parseDecimalText(textValue);
  return d ? formatDecimal(d.unscaled, d.scale) : textValue;
}

function decodeDecimal(raw: Json, schema: ConnectSchema): string {
  const scaleText = schema.parameters?.scale;
  const scale = Number(scaleText);
  if (scaleText === undefined || !Number.isSafeInteger(scale)) throw new ValueError('Decimal schema without an integer parameters.scale');
  if (typeof raw === 'string') {
    const bytes = decodeBase64(raw);
    if (!bytes || bytes.length === 0) throw new ValueError(`Decimal bytes are not padded base64 of a number: ${raw.slice(0, 40)}`);
    const unscaled = bytesToBigInt(bytes);
    const precision = Number(schema.parameters?.['connect.decimal.precision']);
    if (Number.isSafeInteger(precision) && precision > 0 && (unscaled < 0n ? -unscaled : unscaled) >= 10n ** BigInt(precision)) {
      throw new ValueError(`Decimal has more than its ${precision} digits of precision: ${raw.slice(0, 40)}`);
    }
    return formatDecimal(unscaled, scale);
  }
  if (typeof raw === 'number' || raw instanceof JsonNumber) {
    // decimal.format=NUMERIC: the converter wrote the number itself; the parser kept its text.
    const d = parseDecimalText(numberText(raw));
    if (!d) throw new ValueError(`not a decimal: ${numberText(raw)}`);
    const r = rescale(d.unscaled, d.scale, scale);
    return formatDecimal(r.unscaled, r.scale);
  }
  throw new ValueError(`expected Decimal bytes or number, got ${describe(raw)}`);
}

function decodeVariableScaleDecimal(raw: Json): string {
  if (!isJsonObject(raw) || typeof raw.value !== 'string' || typeof raw.scale !== 'number' || !Number.isSafeInteger(raw.scale)) {
    throw new ValueError(`expected VariableScaleDecimal {scale, value}, got ${describe(raw)}`);
  }
  const bytes = decodeBase64(raw.value);
  if (!bytes || bytes.length === 0) throw new ValueError('VariableScaleDecimal value is not padded base64 of a number');
  return formatDecimal(bytesToBigInt(bytes), raw.scale);
}

function zoned(raw: Json, normalize: (t: string) => string | null, what: string): string {
  const t = text(raw);
  // PostgreSQL's ±infinity have no ISO form; native capture passes them through too.
  if (t === 'infinity' || t === '-infinity') return t;
  const out = normalize(t);
  if (out === null) throw new ValueError(`not an ISO-8601 ${what}: ${t.slice(0, 60)}`);
  return INFINITY_ZONED.get(out) ?? out;
}

function geometry(raw: Json): Value {
  if (!isJsonObject(raw) || typeof raw.wkb !== 'string') throw new ValueError(`expected geometry {wkb, srid}, got ${describe(raw)}`);
  const srid = raw.srid;
  if (srid !== null && srid !== undefined && typeof srid !== 'number') throw new ValueError('geometry srid is not an integer');
  return { wkb: raw.wkb, srid: srid ?? null };
}

function parseJsonColumn(t: string): Value {
  try {
    // The same function native capture uses for json/jsonb: no number is rounded on the way.
    return canonicalJson(t);
  } catch {
    throw new ValueError(`io.debezium.data.Json is not JSON: ${t.slice(0, 60)}`);
  }
}

function interval(t: string): string {
  const out = canonicalInterval(t);
  if (out === null) throw new ValueError(`io.debezium.time.Interval is not an ISO-8601 duration: ${t.slice(0, 60)}`);
  return out;
}

/** PostgreSQL varbit without a length: Debezium's `length` is 2^31-1 and the actual length is lost. */
const UNBOUNDED_BITS = 2_147_483_647;

function bits(raw: Json, schema: ConnectSchema): string {
  const length = Number(schema.parameters?.length);
  if (!Number.isSafeInteger(length) || length < 1) throw new ValueError('io.debezium.data.Bits without an integer parameters.length');
  const bytes = typeof raw === 'string' ? decodeBase64(raw) : null;
  if (!bytes) throw new ValueError(`io.debezium.data.Bits is not padded base64: ${describe(raw)}`);
  // A varbit keeps no leading zeros through Debezium (see README): unpadded when its length is unbounded.
  const varying = length === UNBOUNDED_BITS || sourceColumnType(schema) === 'VARBIT';
  const out = bitsFromLittleEndian(bytes, varying ? bytes.length * 8 : length);
  if (out === null) throw new ValueError(`io.debezium.data.Bits value has more than its ${length} bits`);
  return varying ? out.replace(/^0+/, '') : out;
}

/** `__debezium.source.column.type` (connector setting column.propagate.source.type), upper case; '' without it. */
function sourceColumnType(schema: ConnectSchema): string {
  return (schema.parameters?.['__debezium.source.column.type'] ?? '').toUpperCase();
}

/**
 * PostgreSQL's ±infinity timestamps: Debezium's PostgresValueConverter turns
 * them into instants at the JDBC driver's sentinels (PGStatement
 * DATE_POSITIVE/NEGATIVE_INFINITY) read as microseconds (local timestamps)
 * or milliseconds (ZonedTimestamp), and ±infinity dates into the days of
 * -5877611-06-21 / -5877611-06-22 (+5877611-06-21 in some versions).
 */
const POSITIVE_INFINITY = 9223372036825200000n;
const NEGATIVE_INFINITY = -9223372036832400000n;
const INFINITY_DAYS: ReadonlyMap<bigint, string> = new Map([
  [daysFromCivil(-5877611n, 6, 21), 'infinity'], [daysFromCivil(5877611n, 6, 21), 'infinity'], [daysFromCivil(-5877611n, 6, 22), '-infinity'],
  // The snapshot (JDBC) path: the driver's sentinel dates cast to int days, as seen from Debezium 3.6.1.
  [-622191234n, 'infinity'], [-625821272n, '-infinity'],
]);
const INFINITY_ZONED: ReadonlyMap<string, string> = new Map([
  [formatLocalTimestamp(POSITIVE_INFINITY, 1000n, 'Z'), 'infinity'], [formatLocalTimestamp(NEGATIVE_INFINITY, 1000n, 'Z'), '-infinity'],
  [formatLocalTimestamp(POSITIVE_INFINITY, 1_000_000n, 'Z'), 'infinity'], [formatLocalTimestamp(NEGATIVE_INFINITY, 1_000_000n, 'Z'), '-infinity'],
]);

function infinityTimestamp(n: bigint, perSecond: bigint): string | null {
  const micros = n * 1_000_000n;
  if (micros % perSecond !== 0n) return null;
  const value = micros / perSecond;
  if (value === POSITIVE_INFINITY) return 'infinity';
  if (value === NEGATIVE_INFINITY) return '-infinity';
  return null;
}

function canonicalFloat32FromJson(raw: Json): number | string {
  const f = float(raw);
  return typeof f === 'number' ? canonicalFloat32(f) : f;
}

function floatValue(raw: Json): number | string {
  const f = float(raw);
  return typeof f === 'number' ? canonicalFloat(f) : f;
}

function integer(raw: Json): bigint {
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return BigInt(raw);
  if (raw instanceof JsonNumber && /^-?\d+$/.test(raw.text)) return BigInt(raw.text);
  throw new ValueError(`expected an integer, got ${describe(raw)}`);
}

function float(raw: Json): number | string {
  if (typeof raw === 'number') return raw;
  if (raw instanceof JsonNumber) {
    const n = Number(raw.text);
    if (Number.isFinite(n)) return n;
  }
  // Jackson writes non-finite doubles as strings, the canonical form too.
  if (raw === 'NaN' || raw === 'Infinity' || raw === '-Infinity') return raw;
  throw new ValueError(`expected a number, got ${describe(raw)}`);
}

function text(raw: Json): string {
  if (typeof raw !== 'string') throw new ValueError(`expected a string, got ${describe(raw)}`);
  return raw;
}

export function describe(raw: Json): string {
  if (raw instanceof JsonNumber) return `number ${raw.text}`;
  if (Array.isArray(raw)) return 'an array';
  if (raw === null) return 'null';
  if (typeof raw === 'object') return 'an object';
  return `${typeof raw} ${JSON.stringify(raw).slice(0, 40)}`;
}
