/**
 * The canonical value forms (README type table) for the cases issue 12
 * found broken, through each capture path's decoder, and the building
 * blocks in src/capture/canonical.
 */
import { describe, expect, it } from 'vitest';
import { decodeConnectValue, JsonNumber } from '../../../src/capture/debezium';
import { canonicalJson, canonicalFloatText, isCanonicalBase64, bitsFromLittleEndian, bitsFromBigEndian, formatSignedTime } from '../../../src/capture/canonical';
import { decodeValue, OID } from '../../../src/capture/postgres/decode-value';
import { convertValue } from '../../../src/capture/mysql/values';
import { decodeDebeziumMessage } from '../../../src/capture/debezium';
import { DecodeError } from '../../../src/errors';

const dbz = (raw: unknown, schema: Record<string, unknown>) => decodeConnectValue(raw as never, schema as never);

describe('json/jsonb: the same value from every path, no number rounded', () => {
  const big = '{"n":12345678901234567890123,"f":0.1000000000000000055511151231257827}';
  it('keeps the text when a number would be rounded, parses otherwise', () => {
    expect(canonicalJson(big)).toBe(big);
    expect(canonicalJson('{"a":[1,2.5,"x"],"b":null}')).toEqual({ a: [1, 2.5, 'x'], b: null });
    // A top-level string or null stays JSON text, so a string bound for a json column is always JSON.
    expect(canonicalJson('"abc"')).toBe('"abc"');
    expect(canonicalJson('null')).toBe('null');
    expect(canonicalJson('1e400')).toBe('1e400');
    expect(canonicalJson('-0')).toBe('-0');
  });
  it('native PostgreSQL, native MariaDB and Debezium agree', () => {
    for (const text of [big, '{"a":1}', '[1,{"b":"c"}]', '"s"', '12345678901234567890123']) {
      const native = decodeValue(text, OID.jsonb);
      expect(convertValue(text, { kind: 'json' })).toEqual(native);
      expect(dbz(text, { type: 'string', name: 'io.debezium.data.Json' })).toEqual(native);
    }
  });
});

describe('MySQL TIME: negative and beyond a day', () => {
  it('Debezium MicroTime and Time', () => {
    expect(dbz(-3020399000000, { type: 'int64', name: 'io.debezium.time.MicroTime' })).toBe('-838:59:59');
    expect(dbz(-1, { type: 'int64', name: 'io.debezium.time.MicroTime' })).toBe('-00:00:00.000001');
    expect(dbz(3020399999999, { type: 'int64', name: 'io.debezium.time.MicroTime' })).toBe('838:59:59.999999');
    expect(dbz(90000000000, { type: 'int64', name: 'io.debezium.time.MicroTime' })).toBe('25:00:00');
    expect(dbz(-1500, { type: 'int32', name: 'io.debezium.time.Time' })).toBe('-00:00:01.5');
  });
  it('native binlog text as zongji prints it', () => {
    expect(convertValue('-838:59:59', { kind: 'time' })).toBe('-838:59:59');
    expect(convertValue('-00:00:00.000001', { kind: 'time' })).toBe('-00:00:00.000001');
    expect(convertValue('100:00:00.500000', { kind: 'time' })).toBe('100:00:00.5');
    expect(formatSignedTime(-3020399000000n, 1_000_000n)).toBe('-838:59:59');
  });
});

describe('intervals: one ISO 8601 form PostgreSQL accepts', () => {
  it('native (any IntervalStyle) and Debezium numeric and string modes', () => {
    expect(decodeValue('-1 days -00:00:00.000001', 1186)).toBe('P-1DT-0.000001S');
    expect(decodeValue('PT-24H-0.000001S', 1186)).toBe('PT-24H-0.000001S');
    expect(decodeValue('{"1 day","-00:00:01"}', 1187)).toEqual(['P1D', 'PT-1S']);
    expect(dbz(-86400000001, { type: 'int64', name: 'io.debezium.time.MicroDuration' })).toBe('PT-24H-0.000001S');
    expect(dbz(0, { type: 'int64', name: 'io.debezium.time.MicroDuration' })).toBe('PT0S');
    expect(dbz('P1Y2M3DT4H5M6.000001S', { type: 'string', name: 'io.debezium.time.Interval' })).toBe('P1Y2M3DT4H5M6.000001S');
    expect(dbz('P0Y0M3DT0H0M1S', { type: 'string', name: 'io.debezium.time.Interval' })).toBe('P3DT1S');
    expect(() => dbz('P1.5D', { type: 'string', name: 'io.debezium.time.Interval' })).toThrow(/ISO-8601/);
    expect(() => dbz('PT', { type: 'string', name: 'io.debezium.time.Interval' })).toThrow(/ISO-8601/);
  });
});

describe('BIT: one bit string from every path', () => {
  it('Debezium Bits is little-endian with the length parameter', () => {
    // BIT(10) b'1010000011' = 0x283: BitSet bytes [0x83, 0x02].
    expect(dbz(Buffer.from([0x83, 0x02]).toString('base64'), { type: 'bytes', name: 'io.debezium.data.Bits', parameters: { length: '10' } })).toBe('1010000011');
    expect(dbz('', { type: 'bytes', name: 'io.debezium.data.Bits', parameters: { length: '3' } })).toBe('000');
    expect(() => dbz(Buffer.from([0xff, 0x07]).toString('base64'), { type: 'bytes', name: 'io.debezium.data.Bits', parameters: { length: '10' } })).toThrow(/more than its 10 bits/);
    expect(dbz(true, { type: 'boolean', parameters: { '__debezium.source.column.type': 'BIT' } })).toBe('1');
    expect(dbz(true, { type: 'boolean' })).toBe(true);
  });
  it('native MySQL (big-endian bytes) and PostgreSQL (text) agree', () => {
    expect(convertValue(Buffer.from([0x02, 0x83]), { kind: 'bit', bits: 10 })).toBe('1010000011');
    expect(decodeValue('1010000011', 1560)).toBe('1010000011');
    expect(decodeValue('{101,01}', 1563)).toEqual(['101', '01']);
    expect(bitsFromLittleEndian(Uint8Array.from([1]), 9)).toBe('000000001');
    expect(bitsFromBigEndian(Uint8Array.from([1, 0]), 9)).toBe('100000000');
  });
});

describe('strict base64', () => {
  it('a Debezium decimal of "abc" is a DecodeError, not 27.063', () => {
    const value = JSON.stringify({
      schema: { type: 'struct', fields: [{ type: 'struct', field: 'after', fields: [{ type: 'bytes', field: 'd', name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: '3' } }] }] },
      payload: { after: { d: 'abc' }, source: { connector: 'postgresql', lsn: 1 }, op: 'c' },
    });
    expect(() => decodeDebeziumMessage({ key: null, value, topic: 't', partition: 0, offset: '1' })).toThrow(DecodeError);
    expect(() => decodeDebeziumMessage({ key: null, value: value.replace('"abc"', '"AQ=="'), topic: 't' })).not.toThrow();
  });
  it('refuses unpadded, non-canonical and over-precise values', () => {
    expect(isCanonicalBase64('AQ==')).toBe(true);
    expect(isCanonicalBase64('')).toBe(true);
    for (const bad of ['abc', 'AQ', 'AR==', 'A===', 'AQ==\n', 'AQ-_']) expect(isCanonicalBase64(bad)).toBe(false);
    expect(() => dbz('AQ', { type: 'bytes' })).toThrow(/padded base64/);
    expect(() => dbz('', { type: 'bytes', name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: '0' } })).toThrow(/padded base64/);
    // 1000 does not fit DECIMAL(3,0).
    expect(() => dbz(Buffer.from([0x03, 0xe8]).toString('base64'), { type: 'bytes', name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: '0', 'connect.decimal.precision': '3' } })).toThrow(/precision/);
    expect(() => decodeValue('\\x0g', OID.bytea)).toThrow(DecodeError);
  });
});

describe('floats and PostgreSQL infinity', () => {
  it('NaN, ±Infinity and -0 as strings from every path', () => {
    for (const [text, expected] of [['NaN', 'NaN'], ['Infinity', 'Infinity'], ['-Infinity', '-Infinity'], ['-0', '-0'], ['1.5', 1.5]] as const) {
      expect(decodeValue(text, OID.float8)).toBe(expected);
      expect(canonicalFloatText(text)).toBe(expected);
    }
    expect(convertValue(-0, { kind: 'double' })).toBe('-0');
    expect(convertValue(-0, { kind: 'float' })).toBe('-0');
    // Jackson writes a double -0.0 as -0.0; the JsonConverter's schema type is "double".
    expect(dbz(new JsonNumber('-0.0'), { type: 'double' })).toBe('-0');
    expect(dbz('NaN', { type: 'float' })).toBe('NaN');
    expect(dbz(new JsonNumber('1.100000023841858'), { type: 'float' })).toBe(1.1);
  });
  it('Debezium sentinels for ±infinity dates and timestamps; BC dates as PostgreSQL prints them', () => {
    expect(dbz(-2147472692, { type: 'int32', name: 'io.debezium.time.Date' })).toBe('infinity'); // -5877611-06-21
    expect(dbz(-2147472691, { type: 'int32', name: 'io.debezium.time.Date' })).toBe('-infinity'); // -5877611-06-22
    expect(dbz(new JsonNumber('9223372036825200000'), { type: 'int64', name: 'io.debezium.time.MicroTimestamp' })).toBe('infinity');
    expect(dbz(new JsonNumber('-9223372036832400000'), { type: 'int64', name: 'io.debezium.time.MicroTimestamp' })).toBe('-infinity');
    expect(dbz(new JsonNumber('9223372036825200'), { type: 'int64', name: 'io.debezium.time.Timestamp' })).toBe('infinity');
    expect(dbz('infinity', { type: 'string', name: 'io.debezium.time.ZonedTimestamp' })).toBe('infinity');
    expect(dbz(-719162 - 366, { type: 'int32', name: 'io.debezium.time.Date' })).toBe('0001-01-01 BC');
    expect(dbz(new JsonNumber(String((-719162n - 366n) * 86_400_000_000n + 1n)), { type: 'int64', name: 'io.debezium.time.MicroTimestamp' })).toBe('0001-01-01T00:00:00.000001 BC');
    expect(dbz('-0043-03-15T12:00:00Z', { type: 'string', name: 'io.debezium.time.ZonedTimestamp' })).toBe('0044-03-15T12:00:00Z BC');
    expect(dbz(-719162 - 365 * 43 - 11, { type: 'int32', name: 'io.debezium.time.Date' })).toMatch(/ BC$/);
    expect(decodeValue('0044-03-15 BC', OID.date)).toBe('0044-03-15 BC');
  });
});
