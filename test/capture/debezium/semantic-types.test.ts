import { describe, expect, it } from 'vitest';
import { decodeDebeziumMessage, type ConnectSchema, type DebeziumRecord } from '../../../src/capture/debezium';
import { DecodeError } from '../../../src/errors';

const f = (field: string, type: string, name?: string, parameters?: Record<string, string>): ConnectSchema => ({ field, type, name, parameters });
const PLACEHOLDER_B64 = Buffer.from('__debezium_unavailable_value').toString('base64');

/** A PostgreSQL-connector event with the given columns, as JsonConverter text with schemas. */
function pgEvent(columns: ConnectSchema[], after: Record<string, unknown>, extra = ''): string {
  const row = { type: 'struct', optional: true, fields: columns };
  const schema = { type: 'struct', fields: [{ ...row, field: 'before' }, { ...row, field: 'after' }, { type: 'struct', field: 'source', fields: [] }] };
  return `{"schema":${JSON.stringify(schema)},"payload":{"before":null,"after":${JSON.stringify(after)}${extra},"source":{"connector":"postgresql","name":"erp","db":"erp","schema":"public","table":"t","txId":7,"lsn":100,"ts_ms":1,"snapshot":"false","sequence":"[\\"90\\",\\"100\\"]"},"op":"c","ts_ms":2}}`;
}

function after(record: DebeziumRecord) {
  if (record.kind !== 'change') throw new Error(record.kind);
  return record.event;
}

describe('semantic types with a schema', () => {
  it('decodes every Debezium temporal and numeric type to native capture\u2019s representation', () => {
    const cols = [
      f('dec', 'bytes', 'org.apache.kafka.connect.data.Decimal', { scale: '4' }),
      f('neg', 'bytes', 'org.apache.kafka.connect.data.Decimal', { scale: '2' }),
      f('vsd', 'struct', 'io.debezium.data.VariableScaleDecimal'),
      f('dbl', 'float64'), f('dstr', 'string'), f('big', 'int64'), f('i', 'int32'),
      f('d', 'int32', 'io.debezium.time.Date'), f('old', 'int32', 'io.debezium.time.Date'),
      f('t', 'int32', 'io.debezium.time.Time'), f('mt', 'int64', 'io.debezium.time.MicroTime'), f('nt', 'int64', 'io.debezium.time.NanoTime'),
      f('ts', 'int64', 'io.debezium.time.Timestamp'), f('mts', 'int64', 'io.debezium.time.MicroTimestamp'), f('nts', 'int64', 'io.debezium.time.NanoTimestamp'),
      f('zts', 'string', 'io.debezium.time.ZonedTimestamp'), f('zoff', 'string', 'io.debezium.time.ZonedTimestamp'),
      f('zt', 'string', 'io.debezium.time.ZonedTime'), f('y', 'int32', 'io.debezium.time.Year'),
      f('dur', 'int64', 'io.debezium.time.MicroDuration'), f('iv', 'string', 'io.debezium.time.Interval'),
      f('cd', 'int32', 'org.apache.kafka.connect.data.Date'), f('ct', 'int32', 'org.apache.kafka.connect.data.Time'), f('cts', 'int64', 'org.apache.kafka.connect.data.Timestamp'),
      f('j', 'string', 'io.debezium.data.Json'), f('u', 'string', 'io.debezium.data.Uuid'), f('e', 'string', 'io.debezium.data.Enum'),
      f('es', 'string', 'io.debezium.data.EnumSet'), f('bits', 'bytes', 'io.debezium.data.Bits', { length: '3' }),
      f('geo', 'struct', 'io.debezium.data.geometry.Geometry'), f('bin', 'bytes'), f('nan', 'float64'),
      { field: 'arr', type: 'array', items: { type: 'int32', name: 'io.debezium.time.Date' } },
    ];
    const text = pgEvent(cols, {
      dec: Buffer.from([0x00, 0xbc, 0x61, 0x4e]).toString('base64'), // 12345678 → 1234.5678
      neg: Buffer.from([0xff, 0x38]).toString('base64'), // -200 → -2.00
      vsd: { scale: 3, value: Buffer.from([0x30, 0x39]).toString('base64') }, // 12345 → 12.345
      dbl: 12.5, dstr: '1234.5678', i: 7,
      d: 19439, old: -719162, t: 45296789, mt: 86399999999, nt: 45296000000001,
      ts: -1, mts: 1679581805123456, nts: 0,
      zts: '2023-03-23T22:00:10.120000Z', zoff: '2020-01-01T01:30:00.5+02:00', zt: '10:15:30.500Z', y: 2023,
      dur: 90061500000, iv: 'P1Y2M3DT4H5M6.78S', cd: 0, ct: 1000, cts: 1000,
      j: '{"a":[1,2]}', u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', e: 'red', es: 'a,b', bits: 'BQ==',
      geo: { wkb: 'AQEAAAA=', srid: 4326 }, bin: 'AAEC', nan: 'NaN', arr: [0, null, 1],
    }).replace('"i":7', '"big":9223372036854775807,"i":7').replace('"nts":0', '"nts":1679581805123456789'); // beyond 2^53: raw text
    const e = after(decodeDebeziumMessage({ key: null, value: text }));
    expect(e.after).toEqual({
      dec: '1234.5678', neg: '-2.00', vsd: '12.345', dbl: 12.5, dstr: '1234.5678', big: '9223372036854775807', i: 7,
      d: '2023-03-23', old: '0001-01-01', t: '12:34:56.789', mt: '23:59:59.999999', nt: '12:34:56.000000001',
      ts: '1969-12-31T23:59:59.999', mts: '2023-03-23T14:30:05.123456', nts: '2023-03-23T14:30:05.123456789',
      zts: '2023-03-23T22:00:10.12Z', zoff: '2019-12-31T23:30:00.5Z', zt: '10:15:30.5Z', y: 2023,
      dur: 'PT25H1M1.5S', iv: 'P1Y2M3DT4H5M6.78S', cd: '1970-01-01', ct: '00:00:01', cts: '1970-01-01T00:00:01',
      j: { a: [1, 2] }, u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', e: 'red', es: 'a,b', bits: '101',
      geo: { wkb: 'AQEAAAA=', srid: 4326 }, bin: 'AAEC', nan: 'NaN', arr: ['1970-01-01', null, '1970-01-02'],
    });
    expect(e.source).toMatchObject({ system: 'erp', position: '000000000000005A:0000000000000064', txId: '7' });
  });

  it('drops the unavailable-value placeholder (text, bytes, array, variable-scale decimal) from after and lists it', () => {
    const cols = [f('id', 'int32'), f('doc', 'string'), f('blob', 'bytes'), { field: 'tags', type: 'array', items: { type: 'string' } }, f('n', 'struct', 'io.debezium.data.VariableScaleDecimal'), f('empty', 'string')];
    const text = pgEvent(cols, {
      id: 1, doc: '__debezium_unavailable_value', blob: PLACEHOLDER_B64, tags: ['__debezium_unavailable_value'],
      n: { scale: 0, value: PLACEHOLDER_B64 }, empty: null,
    });
    const e = after(decodeDebeziumMessage({ key: null, value: text }));
    expect(e.after).toEqual({ id: 1, empty: null });
    expect(e.unavailable).toEqual(['doc', 'blob', 'tags', 'n']);
    expect(e.after && 'doc' in e.after).toBe(false);
  });

  it('honours a custom placeholder', () => {
    const text = pgEvent([f('doc', 'string')], { doc: '<toast>' });
    expect(after(decodeDebeziumMessage({ key: null, value: text }, { unavailableValuePlaceholder: '<toast>' })).unavailable).toEqual(['doc']);
  });

  it('uses caller-supplied column schemas for schema-less messages', () => {
    const value = '{"before":null,"after":{"price":"AMTWtA==","at":1679581805123456},"source":{"connector":"postgresql","name":"erp","db":"d","schema":"public","table":"item","lsn":5},"op":"c","ts_ms":1}';
    const plain = after(decodeDebeziumMessage({ key: null, value }));
    expect(plain.after).toEqual({ price: 'AMTWtA==', at: 1679581805123456 }); // what JSON gives: scale unknown
    const hinted = after(decodeDebeziumMessage({ key: null, value }, { columnSchemas: {
      'item.price': { type: 'bytes', name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: '2' } },
      'item.at': { type: 'int64', name: 'io.debezium.time.MicroTimestamp' },
    } }));
    expect(hinted.after).toEqual({ price: '129000.20', at: '2023-03-23T14:30:05.123456' });
  });

  it('keeps big and fractional numbers exact without a schema', () => {
    const value = '{"after":{"a":12345678901234567890,"b":0.1,"c":123456789876543212345678987654321.110,"d":1E+2},"source":{"connector":"mysql","file":"b.000001","pos":4,"row":0},"op":"c"}';
    expect(after(decodeDebeziumMessage({ key: null, value })).after).toEqual({ a: '12345678901234567890', b: 0.1, c: '123456789876543212345678987654321.110', d: 100 });
  });
});

describe('envelopes', () => {
  const src = '"source":{"connector":"mysql","name":"erp","db":"shop","table":"customer","file":"mysql-bin.000012","pos":700,"row":0,"snapshot":"false","ts_ms":5}';

  it('primary-key update: delete, tombstone of the old key, create', () => {
    const records = [
      { key: '{"id":1}', value: `{"before":{"id":1,"name":"a"},"after":null,${src},"op":"d","ts_ms":6}`, offset: '10' },
      { key: '{"id":1}', value: null, offset: '11' },
      { key: '{"id":2}', value: `{"before":null,"after":{"id":2,"name":"a"},${src.replace('"row":0', '"row":1')},"op":"c","ts_ms":6}`, offset: '12' },
    ].map((m) => decodeDebeziumMessage({ ...m, topic: 'erp.shop.customer', partition: 0 }));
    expect(records.map((r) => r.kind)).toEqual(['change', 'tombstone', 'change']);
    const [del, tomb, create] = records;
    expect(del?.kind === 'change' && del.event).toMatchObject({ op: 'd', before: { id: 1 }, keyColumns: ['id'], source: { position: '0000000C:00000000000002BC:00000000' } });
    expect(tomb).toMatchObject({ kind: 'tombstone', key: { id: 1 }, kafka: { topic: 'erp.shop.customer', partition: 0, offset: '11', position: 'erp.shop.customer/00000000/000000000000000B' } });
    expect(create?.kind === 'change' && create.event).toMatchObject({ op: 'c', after: { id: 2 }, source: { position: '0000000C:00000000000002BC:00000001' } });
  });

  it('recognises heartbeats by topic, schema name or shape', () => {
    const byTopic = decodeDebeziumMessage({ key: '{"serverName":"erp"}', value: '{"ts_ms":1700000000000}', topic: '__debezium-heartbeat.erp', partition: 0, offset: '3' });
    expect(byTopic).toMatchObject({ kind: 'heartbeat', tsMs: 1700000000000, serverName: 'erp' });
    const bySchema = decodeDebeziumMessage({ key: null, value: '{"schema":{"type":"struct","name":"io.debezium.connector.common.Heartbeat","fields":[{"field":"ts_ms","type":"int64"}]},"payload":{"ts_ms":5}}' });
    expect(bySchema).toMatchObject({ kind: 'heartbeat', tsMs: 5, hasSchema: true });
  });

  it('accepts values already parsed, and Buffers', () => {
    const parsed = JSON.parse(`{"after":{"id":1},${src},"op":"r"}`) as unknown;
    expect(after(decodeDebeziumMessage({ key: null, value: parsed })).source.snapshot).toBe('false');
    expect(after(decodeDebeziumMessage({ key: null, value: Buffer.from(`{"after":{"id":1},${src},"op":"r"}`) })).op).toBe('r');
  });

  it('maps old boolean and every string snapshot marker', () => {
    for (const [raw, marker] of [['true', 'true'], ['false', 'false'], ['null', 'false'], ['"first"', 'first'], ['"last_in_data_collection"', 'last_in_data_collection'], ['"incremental"', 'incremental']]) {
      const value = `{"after":{"id":1},"source":{"connector":"postgresql","lsn":1,"snapshot":${raw}},"op":"r"}`;
      expect(after(decodeDebeziumMessage({ key: null, value })).source.snapshot).toBe(marker);
    }
  });

  it('names topic, partition and offset in a DecodeError', () => {
    const call = () => decodeDebeziumMessage({ key: null, value: '{"op":"c",', topic: 'erp.t', partition: 2, offset: '99' });
    expect(call).toThrow(DecodeError);
    expect(call).toThrow(/topic erp\.t partition 2 offset 99: .*not JSON/);
    expect(() => decodeDebeziumMessage({ key: null, value: `{"after":{"d":"x"},${src},"op":"c"}` }, { columnSchemas: { 'customer.d': { type: 'int32', name: 'io.debezium.time.Date' } } }))
      .toThrow(/after\.d: expected an integer/);
  });
});
