/** Debezium fields of every semantic type, written as the JsonConverter writes them, with their canonical values. */
import fc from 'fast-check';
import { expect } from 'vitest';
import { formatIsoInterval } from '../../../src/capture/canonical';
import { DecodeError } from '../../../src/errors';
import { bitString, decimalCase, floatCase, javaBigIntegerBytes, jsonCase, mysqlTime } from './arbitraries';

export interface Field {
  /** The Connect schema of the field, as JSON text (without "field"). */
  schema: Record<string, unknown>;
  /** The payload value as JSON text, exactly as the JsonConverter would write it. */
  json: string;
  expected: unknown;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** java.util.BitSet#toByteArray: little-endian, trailing zero bytes dropped. */
function bitSetBytes(bits: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < bits.length; i++) {
    if (bits[bits.length - 1 - i] !== '1') continue;
    const at = Math.floor(i / 8);
    while (out.length <= at) out.push(0);
    out[at]! |= 1 << (i % 8);
  }
  return Buffer.from(out);
}

const intervalParts = fc.tuple(
  fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -11, max: 11 }), fc.integer({ min: -40, max: 40 }),
  fc.integer({ min: -100, max: 100 }), fc.integer({ min: -59, max: 59 }), fc.integer({ min: -59, max: 59 }), fc.integer({ min: 0, max: 999_999 }),
).map(([y, mo, d, h, mi, s, us]) => {
  const sign = h < 0 || mi < 0 || s < 0 ? -1n : 1n;
  const micros = sign * ((BigInt(Math.abs(h)) * 3600n + BigInt(Math.abs(mi)) * 60n + BigInt(Math.abs(s))) * 1_000_000n + BigInt(us));
  // Debezium's string mode: every component, the time fields with the sign of the time part.
  const abs = sign < 0n ? -micros : micros;
  const sec = `${abs % 60_000_000n / 1_000_000n}${abs % 1_000_000n ? `.${String(abs % 1_000_000n).padStart(6, '0').replace(/0+$/, '')}` : ''}`;
  const neg = sign < 0n ? '-' : '';
  const hh = abs / 3_600_000_000n;
  const mm = (abs % 3_600_000_000n) / 60_000_000n;
  const text = `P${y}Y${mo}M${d}DT${hh ? neg : ''}${hh}H${mm ? neg : ''}${mm}M${abs % 60_000_000n ? neg : ''}${sec}S`;
  return { text, parts: { months: BigInt(y * 12 + mo), days: BigInt(d), micros: (hh || mm || abs % 60_000_000n) ? micros : 0n } };
});

export const field: fc.Arbitrary<Field> = fc.oneof(
  decimalCase.chain(({ unscaled, scale, text }) => fc.boolean().map((withPrecision) => ({
    schema: { type: 'bytes', name: 'org.apache.kafka.connect.data.Decimal', parameters: withPrecision ? { scale: String(scale), 'connect.decimal.precision': '41' } : { scale: String(scale) } },
    json: JSON.stringify(b64(javaBigIntegerBytes(unscaled))), expected: text,
  }))),
  decimalCase.map(({ unscaled, scale, text }) => ({
    schema: { type: 'struct', name: 'io.debezium.data.VariableScaleDecimal', fields: [{ type: 'int32', field: 'scale' }, { type: 'bytes', field: 'value' }] },
    json: `{"scale":${scale},"value":${JSON.stringify(b64(javaBigIntegerBytes(unscaled)))}}`, expected: text,
  })),
  fc.integer({ min: -32768, max: 32767 }).map((n) => ({ schema: { type: 'int16' }, json: String(n), expected: n })),
  fc.integer().map((n) => ({ schema: { type: 'int32' }, json: String(n), expected: n })),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map((n) => ({ schema: { type: 'int64' }, json: String(n), expected: String(n) })),
  // Jackson: non-finite doubles as quoted strings, -0.0 as written, other doubles as Java prints them (parsed the same).
  floatCase.map(({ n, canonical }) => ({ schema: { type: 'double' }, json: Number.isFinite(n) ? (Object.is(n, -0) ? '-0.0' : String(n)) : JSON.stringify(String(n)), expected: canonical })),
  fc.boolean().map((b) => ({ schema: { type: 'boolean' }, json: String(b), expected: b })),
  fc.boolean().map((b) => ({ schema: { type: 'boolean', parameters: { '__debezium.source.column.type': 'BIT', __debezium_source_column_length: '1' } }, json: String(b), expected: b ? '1' : '0' })),
  fc.string({ unit: 'grapheme' }).map((s) => ({ schema: { type: 'string' }, json: JSON.stringify(s), expected: s })),
  fc.uint8Array({ maxLength: 40 }).map((b) => ({ schema: { type: 'bytes' }, json: JSON.stringify(b64(b)), expected: b64(b) })),
  fc.integer({ min: -719162, max: 2932896 }).map((days) => ({ schema: { type: 'int32', name: 'io.debezium.time.Date' }, json: String(days), expected: new Date(days * 86_400_000).toISOString().slice(0, 10) })),
  mysqlTime.map(({ text, micros }) => ({ schema: { type: 'int64', name: 'io.debezium.time.MicroTime' }, json: String(micros), expected: text })),
  mysqlTime.filter(({ us }) => us % 1000 === 0).map(({ text, micros }) => ({ schema: { type: 'int32', name: 'io.debezium.time.Time' }, json: String(micros / 1000n), expected: text })),
  fc.bigInt({ min: -(1n << 62n), max: 1n << 62n }).map((micros) => ({ schema: { type: 'int64', name: 'io.debezium.time.MicroDuration' }, json: String(micros), expected: formatIsoInterval({ months: 0n, days: 0n, micros }) })),
  intervalParts.map(({ text, parts }) => ({ schema: { type: 'string', name: 'io.debezium.time.Interval' }, json: JSON.stringify(text), expected: formatIsoInterval(parts) })),
  jsonCase.map(({ text, expected }) => ({ schema: { type: 'string', name: 'io.debezium.data.Json' }, json: JSON.stringify(text), expected })),
  bitString.filter((b) => b.length > 1).map((bits) => ({ schema: { type: 'bytes', name: 'io.debezium.data.Bits', parameters: { length: String(bits.length) } }, json: JSON.stringify(b64(bitSetBytes(bits))), expected: bits })),
  fc.constantFrom(['9223372036825200000', 'infinity'], ['-9223372036832400000', '-infinity']).map(([json, expected]) => ({ schema: { type: 'int64', name: 'io.debezium.time.MicroTimestamp' }, json, expected })),
  fc.array(fc.option(fc.oneof(fc.string(), fc.constant('NULL')), { nil: null }), { maxLength: 5 }).map((a) => ({ schema: { type: 'array', items: { type: 'string' } }, json: JSON.stringify(a), expected: a })),
);

export function message(fields: Field[]): string {
  const rowSchema = { type: 'struct', optional: true, fields: [{ type: 'int32', field: 'id' }, ...fields.map((f, i) => ({ ...f.schema, optional: true, field: `c${i}` }))] };
  const schema = { type: 'struct', fields: [{ ...rowSchema, field: 'before' }, { ...rowSchema, field: 'after' }, { type: 'struct', field: 'source', fields: [] }, { type: 'string', field: 'op' }] };
  const after = `{"id":1${fields.map((f, i) => `,"c${i}":${f.json}`).join('')}}`;
  return `{"schema":${JSON.stringify(schema)},"payload":{"before":null,"after":${after},"source":{"connector":"mysql","name":"erp","db":"d","table":"t","file":"mysql-bin.000001","pos":4,"row":0,"ts_ms":1},"op":"c","ts_ms":1}}`;
}

export function onlyDecodeErrors<T>(f: () => T): T | DecodeError {
  try {
    return f();
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    return error as DecodeError;
  }
}

