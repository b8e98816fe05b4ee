/**
 * Every fixture under ../shared/fixtures/debezium decodes, and each one has
 * its expected values stated here (a fixture without an entry fails the
 * first test, so none is forgotten).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../../src/capture/change-event';
import { decodeDebeziumMessage, type DebeziumRecord } from '../../../src/capture/debezium';

// TANDEM_FIXTURES_DIR: a git worktree outside /work/main has no ../shared beside it.
const ROOT = process.env.TANDEM_FIXTURES_DIR ?? path.resolve(__dirname, '../../../../shared/fixtures/debezium');
const FIXTURES = readdirSync(ROOT).flatMap((c) => readdirSync(path.join(ROOT, c)).map((f) => `${c}/${f}`)).sort();
const read = (name: string) => readFileSync(path.join(ROOT, name));
const isKey = (name: string) => /(^|-)key(-|\.json$)/.test(path.basename(name));

function decodeFile(name: string, key: string | null = null): DebeziumRecord {
  // Key files are Kafka keys: decoded as the key of a record without value.
  return isKey(name) ? decodeDebeziumMessage({ key: read(name), value: null }) : decodeDebeziumMessage({ key: key ? read(key) : null, value: read(name) });
}

function change(name: string, key: string | null = null): ChangeEvent {
  const r = decodeFile(name, key);
  if (r.kind !== 'change') throw new Error(`${name}: ${r.kind}`);
  return r.event;
}

const customers = (id: number, first: string, last: string, email: string) => ({ id, first_name: first, last_name: last, email });

const EXPECT: Record<string, (name: string) => void> = {
  'mysql/debezium-testres-serde-update.json': (n) => {
    const e = change(n);
    expect(e.op).toBe('u');
    expect(e.before).toEqual(customers(1004, 'Anne-Marie', 'Kretchmar', 'annek@noanswer.org'));
    expect(e.after).toEqual(customers(1004, 'Anne', 'Kretchmar', 'annek@noanswer.org'));
    expect(e.source).toMatchObject({ connector: 'mysql', system: 'mysql-server-1', database: 'inventory', table: 'customers', snapshot: 'false', position: '00000003:000000000000009A:00000000', commitTimeMs: 0 });
    expect(e.tsMs).toBe(1465491411815);
  },
  'mysql/debezium-testres-serde-with-schema.json': (n) => {
    const r = decodeFile(n);
    expect(r).toMatchObject({ kind: 'change', hasSchema: true });
    const e = change(n);
    expect(e.op).toBe('c');
    expect(e.after).toEqual(customers(1004, 'Anne', 'Kretchmar', 'annek@noanswer.org'));
    expect(e.source.position).toBe('00000003:000000000000009A:00000000');
  },
  'mysql/debezium-testres-serde-without-schema.json': (n) => {
    expect(decodeFile(n)).toMatchObject({ kind: 'change', hasSchema: false });
    expect(change(n).after).toEqual(customers(1004, 'Anne', 'Kretchmar', 'annek@noanswer.org'));
  },
  'mysql/docs-create-customers-schema-payload.json': (n) => {
    const e = change(n, 'mysql/docs-key-customers.json');
    expect(e.op).toBe('c');
    expect(e.keyColumns).toEqual(['id']);
    expect(e.after).toEqual(customers(1004, 'Anne', 'Kretchmar', 'annek@noanswer.org'));
  },
  'mysql/docs-delete-customers-payload.json': (n) => {
    const e = change(n);
    expect(e).toMatchObject({ op: 'd', after: null, tsMs: 1465581902461 });
    expect(e.before).toEqual(customers(1004, 'Anne Marie', 'Kretchmar', 'annek@noanswer.org'));
    expect(e.source.position).toBe('00000003:0000000000000325:00000000'); // pos 805
    expect(e.source.commitTimeMs).toBe(1465581902300);
  },
  'mysql/docs-key-customers.json': (n) => expect(decodeFile(n)).toMatchObject({ kind: 'tombstone', key: { id: 1001 } }),
  'mysql/docs-schema-change-alter-customers.json': (n) => {
    const r = decodeFile(n);
    if (r.kind !== 'schema-change') throw new Error(r.kind);
    expect(r.hasSchema).toBe(false); // `"schema": { }` is no schema
    expect(r).toMatchObject({ databaseName: 'inventory', schemaName: null, ddl: 'ALTER TABLE customers ADD middle_name varchar(255) AFTER first_name' });
    expect(r.tableChanges).toHaveLength(1);
    expect(r.tableChanges[0]).toMatchObject({ type: 'ALTER', table: { primaryKeyColumnNames: ['id'] } });
    expect(r.source).toMatchObject({ connector: 'mysql', table: 'customers', position: '00000003:000000000000023A:00000000', system: 'mysql' });
  },
  'mysql/docs-schema-change-key.json': (n) => expect(decodeFile(n)).toMatchObject({ kind: 'tombstone', key: { databaseName: 'inventory' } }),
  'mysql/docs-transaction-begin.json': (n) =>
    expect(decodeFile(n)).toMatchObject({ kind: 'transaction', status: 'BEGIN', id: '0e4d5dcd-a33b-11ea-80f1-02010a22a99e:10', eventCount: null, dataCollections: null, tsMs: 1486500577125 }),
  'mysql/docs-transaction-end.json': (n) =>
    expect(decodeFile(n)).toMatchObject({
      kind: 'transaction', status: 'END', id: '0e4d5dcd-a33b-11ea-80f1-02010a22a99e:10', eventCount: 2, tsMs: 1486500577691,
      dataCollections: [{ dataCollection: 's1.a', eventCount: 1 }, { dataCollection: 's2.a', eventCount: 1 }],
    }),
  'mysql/docs-truncate-customers-payload.json': (n) => {
    const e = change(n);
    expect(e).toMatchObject({ op: 't', before: null, after: null, tsMs: 1465581029523 });
    expect(e.source.position).toBe('00000003:00000000000001E4:00000000');
  },
  'mysql/docs-update-customers-payload.json': (n) => {
    const e = change(n);
    expect(e.op).toBe('u');
    expect(e.before?.first_name).toBe('Anne');
    expect(e.after?.first_name).toBe('Anne Marie');
    expect(e.source.position).toBe('00000003:00000000000001E4:00000000');
  },
  'mysql/examples-engine-wasm-read-customers-1004.json': (n) => {
    const e = change(n);
    expect(e).toMatchObject({ op: 'r', source: { snapshot: 'true', system: 'wasm', position: '00000003:000000000000031D:00000000' } });
  },
  'mysql/examples-engine-wasm-update-customers-1001.json': (n) => {
    const e = change(n);
    expect(e.before?.first_name).toBe('Sally');
    expect(e.after).toEqual(customers(1001, 'Sarah', 'Thomas', 'sally.thomas@acme.com'));
    expect(e.source.position).toBe('00000003:0000000000000411:00000000');
  },
  'mysql/paimon-delete-products-schema-null-wrapper.json': (n) => {
    const r = decodeFile(n);
    expect(r).toMatchObject({ kind: 'change', hasSchema: false });
    const e = change(n);
    expect(e).toMatchObject({ op: 'd', after: null, before: { id: 101, name: 'scooter', weight: 3.14 } });
    expect(e.source.position).toBe('00000000:0000000000000000:00000000'); // file "" and pos 0
  },
  'mysql/paimon-flink-v111-snapshot-op-c-products-schema-payload.json': (n) => {
    const e = change(n);
    expect(e.op).toBe('c');
    expect(e.source.snapshot).toBe('true');
    expect(e.after).toEqual({ id: 101, name: 'scooter', description: 'Small 2-wheel scooter', weight: 3.140000104904175 });
  },
  'mysql/paimon-flinkcdc-schema-change-historyrecord-schema-payload.json': (n) => {
    const r = decodeFile(n);
    if (r.kind !== 'schema-change') throw new Error(r.kind);
    expect(r).toMatchObject({ databaseName: 'tinyint1_not_bool_test', ddl: 'ALTER TABLE t1 ADD COLUMN _new_tinyint1 TINYINT(1)' });
    expect(r.tableChanges[0]).toMatchObject({ type: 'ALTER', id: '"tinyint1_not_bool_test"."t1"' });
    expect(r.source?.position).toBe('00000003:00000000000000DB:00000000'); // pos 219
  },
  'mysql/paimon-read-all-types-schema-payload.json': (n) => {
    const e = change(n);
    expect(e.op).toBe('r');
    expect(e.after).toMatchObject({
      pt: '1.1', _numeric: '12345.110', _numeric_unsigned: '12345.220', _numeric_unsigned_zerofill: '12345.330',
      _fixed: '123456789876543212345678987654321.110', _fixed_unsigned: '123456789876543212345678987654321.220',
      _fixed_unsigned_zerofill: '123456789876543212345678987654321.330',
      _decimal: '11111', _decimal_unsigned: '22222', _decimal_unsigned_zerofill: '33333',
      _big_decimal: '2222222222222222300000001111.1234567890',
      _bigint: '10000000000', _bigint_unsigned: '20000000000', _serial: '40000000000', _int_unsigned: '2000000',
      _int: 1000000, _tinyint1: 1, _bit1: true, _bit: '11111000111'.padStart(64, '0') /* B'11111000111' in the source SQL: Bits is little-endian */, _float: 1.5, _double_precision: 1.000111,
      _date: '2023-03-23', _datetime: '2023-03-23T14:30:05', _datetime3: '2023-03-23T14:30:05.123',
      _datetime6: '2023-03-23T14:30:05.123456', _datetime_p: '2023-03-24T14:30:00', _datetime_p2: '2023-03-24T14:30:05.12',
      _timestamp: '2023-03-23T22:00:10.123456Z', _timestamp0: '2023-03-23T07:10:00Z', _time: '10:13:23', _year: 2023,
      _json: { a: 'b' }, _enum: 'value1', _set: 'a,b', _bin: 'Ynl0ZXMAAAAAAA==',
      _point: { wkb: 'AQEAAAAAAAAAAADwPwAAAAAAAPA/', srid: null },
    });
    expect(Object.keys(e.after ?? {})).toHaveLength(78);
  },
  'mysql/paimon-schema-evolution-1-create-schema-payload.json': (n) =>
    expect(change(n).after).toEqual({ id: 101, name: 'scooter', description: 'Small 2-wheel scooter', weight: 3.14 }),
  'mysql/paimon-schema-evolution-2-after-add-column-age-schema-payload.json': (n) =>
    expect(change(n).after).toEqual({ id: 103, name: '12-pack drill bits', description: '12-pack of drill bits with sizes ranging from #40 to #3', weight: 0.8, age: 18 }),
  'mysql/risingwave-testliteral-schema-change-alter-add-column.json': (n) => {
    const r = decodeFile(n);
    expect(r).toMatchObject({ kind: 'schema-change', databaseName: 'mydb', ddl: 'ALTER TABLE test add column v2 varchar(32)', tsMs: 1718354727594 });
    if (r.kind === 'schema-change') expect(r.source?.position).toBe('00000041:00000000000000EA:00000000'); // binlog.000065 pos 234
  },
  'mysql/seatunnel-read-all-types.json': (n) => {
    // Schema-less: values as JSON gives them (a date is a day count, a decimal a double).
    const e = change(n);
    expect(e.after).toMatchObject({ f_decimal: 9999999.1, f_date: 20073, f_time: 56033000000, f_datetime: 1734363225000, f_json: '{}', f_bit64: 'AQAAAAAAAAA=', f_timestamp: '2024-12-16T15:33:42Z', f_year: 2001 });
  },
  'mysql/tutorial-create-1005-key.json': (n) => expect(decodeFile(n)).toMatchObject({ kind: 'tombstone', key: { id: 1005 } }),
  'mysql/tutorial-create-1005-schema-payload.json': (n) => {
    const e = change(n, 'mysql/tutorial-create-1005-key.json');
    expect(e).toMatchObject({ op: 'c', keyColumns: ['id'], after: customers(1005, 'Sarah', 'Thompson', 'kitt@acme.com') });
    expect(e.source).toMatchObject({ snapshot: 'false', commitTimeMs: 1490635153000, position: '00000003:0000000000000416:00000000' });
  },
  'mysql/tutorial-create-1006-key.json': (n) => expect(decodeFile(n)).toMatchObject({ kind: 'tombstone', key: { id: 1006 } }),
  'mysql/tutorial-create-1006-schema-payload.json': (n) => {
    const e = change(n, 'mysql/tutorial-create-1006-key.json');
    expect(e.after).toEqual(customers(1006, 'Kenneth', 'Anderson', 'kander@acme.com'));
    // Later in the same binlog than 1005: positions order as the stream.
    expect(e.source.position > change('mysql/tutorial-create-1005-schema-payload.json').source.position).toBe(true);
  },
  'mysql/tutorial-delete-customers-payload.json': (n) => {
    const e = change(n);
    expect(e.source.system).toBe('dbserver1'); // duplicate "name": the last wins
    expect(e).toMatchObject({ op: 'd', after: null, source: { connector: 'mysql', snapshot: 'false', commitTimeMs: 1486501558000 } });
  },
  'mysql/tutorial-read-customers-key.json': (n) => expect(decodeFile(n)).toMatchObject({ kind: 'tombstone', key: { id: 1004 } }),
  'mysql/tutorial-read-customers-schema-payload.json': (n) => {
    const e = change(n, 'mysql/tutorial-read-customers-key.json');
    expect(e).toMatchObject({ op: 'r', keyColumns: ['id'], after: customers(1004, 'Anne', 'Kretchmar', 'annek@noanswer.org') });
    expect(e.source.snapshot).toBe('true');
  },
  'mysql/tutorial-tombstone-legacy-envelope.json': (n) => expect(decodeFile(n)).toMatchObject({ kind: 'tombstone', key: null }),
  'mysql/tutorial-update-customers-payload.json': (n) => {
    const e = change(n);
    expect(e.source.system).toBe('dbserver1'); // `"name": "3.7.0.Alpha2"` then `"name": "dbserver1"`
    expect(e.after?.first_name).toBe('Anne Marie');
    expect(e.source.position).toBe('00000003:000000000000016C:00000000');
  },
  'postgresql/docs-create-customers-schema-payload.json': (n) => {
    const e = change(n);
    expect(e.after).toEqual(customers(1, 'Anne', 'Kretchmar', 'annek@noanswer.org'));
    // sequence ["24023119","24023128"]: last commit LSN, then the event's.
    expect(e.source).toMatchObject({ position: '00000000016E904F:00000000016E9058', txId: '555', snapshot: 'true', schema: 'public' });
    expect(e.correlationId).toBe('PostgreSQL_server@00000000016E904F:00000000016E9058');
  },
  'postgresql/docs-delete-customers-payload.json': (n) => {
    const e = change(n);
    expect(e).toMatchObject({ op: 'd', before: { id: 1 }, after: null, source: { position: '0000000000000000:0000000002C5E2F8', txId: '556' } });
  },
  'postgresql/docs-logical-message-nontransactional-payload.json': (n) =>
    expect(decodeFile(n)).toMatchObject({ kind: 'message', prefix: 'foo', content: 'Ymfy', transactional: false, tsMs: 1559033904961, source: { txId: null } }),
  'postgresql/docs-logical-message-transactional-payload.json': (n) =>
    expect(decodeFile(n)).toMatchObject({ kind: 'message', prefix: 'foo', content: 'Ymfy', transactional: true, source: { txId: '556', position: '0000000000000000:0000000002C5E2F8' } }),
  'postgresql/docs-transaction-begin.json': (n) => expect(decodeFile(n)).toMatchObject({ kind: 'transaction', status: 'BEGIN', id: '571:53195829', eventCount: null }),
  'postgresql/docs-transaction-end.json': (n) => expect(decodeFile(n)).toMatchObject({ kind: 'transaction', status: 'END', id: '571:53195832', eventCount: 2 }),
  'postgresql/docs-truncate-customers-payload.json': (n) => expect(change(n)).toMatchObject({ op: 't', before: null, after: null, source: { table: 'customers' } }),
  'postgresql/docs-update-customers-payload.json': (n) => {
    const e = change(n);
    expect(e).toMatchObject({ op: 'u', before: { id: 1 }, after: customers(1, 'Anne Marie', 'Kretchmar', 'annek@noanswer.org'), tsMs: 1465584025523 });
  },
  'postgresql/examples-kafka-ssl-create-customers-payload.json': (n) => {
    const e = change(n);
    expect(e.after).toEqual(customers(1005, 'Bob', 'Marley', 'bob@marley.com'));
    expect(e.source).toMatchObject({ position: '00000000020D8C10:00000000020DEAB0', txId: '767', schema: 'inventory' });
  },
  'postgresql/flink-pg-exclude-create-products-110.json': (n) => expect(change(n)).toMatchObject({ op: 'c', after: { id: 110, weight: 0.2 }, source: { txId: '604' } }),
  'postgresql/flink-pg-exclude-delete-products-111.json': (n) => expect(change(n)).toMatchObject({ op: 'd', before: { id: 111, description: 'Big 2-wheel scooter ' }, after: null }),
  'postgresql/flink-pg-exclude-read-products-101.json': (n) => expect(change(n)).toMatchObject({ op: 'r', source: { snapshot: 'true', position: '0000000000000000:0000000002080000' } }),
  'postgresql/flink-pg-exclude-update-products-106.json': (n) =>
    expect(change(n)).toMatchObject({ op: 'u', before: { description: "16oz carpenter's hammer", weight: 1 }, after: { description: '18oz carpenter hammer' } }),
  'postgresql/flink-pg-include-read-products-101-schema-payload.json': (n) =>
    expect(change(n)).toMatchObject({ op: 'r', after: { id: 101, name: 'scooter', weight: 3.14 }, source: { schema: 'inventory', table: 'products' } }),
  'postgresql/flink-pg-replica-identity-delete-before-null.json': (n) => expect(change(n)).toMatchObject({ op: 'd', before: null, after: null }),
  'postgresql/flink-pg-replica-identity-update-before-null.json': (n) => expect(change(n)).toMatchObject({ op: 'u', before: null, after: { id: 106 } }),
  'postgresql/risingwave-chbench-read-orderline-schema-payload.json': (n) => {
    const e = change(n);
    expect(e.after).toEqual({ ol_o_id: 2105, ol_d_id: 1, ol_w_id: 1, ol_number: 4, ol_i_id: 65140, ol_supply_w_id: 1, ol_delivery_d: '2015-11-22 00:00:00', ol_quantity: 5, ol_amount: 0.42, ol_dist_info: '6Pm0L2Rk4 gBi0i0NB 6  00' });
    expect(e.source.position).toBe('0000000000000000:000000000173C338'); // sequence [null,"24363832"]
  },
  'postgresql/risingwave-read-temporal-types-schema-payload.json': (n) =>
    expect(change(n).after).toEqual({ id: '1', ts: '2022-10-14T23:55:31.98936', d: '2022-10-14', t: '23:55:31.98936' }),
  'postgresql/risingwave-testliteral-create-orders-with-transaction-block.json': (n) => {
    const r = decodeFile(n);
    if (r.kind !== 'change') throw new Error(r.kind);
    expect(r.transaction).toEqual({ id: '35392:3963199336', totalOrder: 1, dataCollectionOrder: 1 });
    expect(r.event.after).toEqual({ customer_name: 'a1', order_date: '2020-01-30', order_id: 10021, order_status: false, price: '50.50', product_id: 102 });
    expect(r.event.source).toMatchObject({ txId: '35352', position: '00000000EC399C30:00000000EC399F68' });
  },
  'postgresql/risingwave-testliteral-transaction-begin.json': (n) => expect(decodeFile(n)).toMatchObject({ kind: 'transaction', status: 'BEGIN', id: '35352:3962948040', tsMs: 1704269323180 }),
  'postgresql/risingwave-testliteral-transaction-end.json': (n) =>
    expect(decodeFile(n)).toMatchObject({ kind: 'transaction', status: 'END', eventCount: 11, dataCollections: [{ dataCollection: 'public.orders_tx', eventCount: 5 }, { dataCollection: 'public.person', eventCount: 6 }] }),
  'postgresql/seatunnel-read-all-types.json': (n) => {
    const e = change(n);
    // lsn is Long.MIN_VALUE printed through a double: taken as 0.
    expect(e.source.position).toBe('0000000000000000:0000000000000000');
    expect(e.after).toMatchObject({ f44: 20074, f48: '09:00:00+08:00', f51: 1734544849000000, f53: '2024-12-17T18:00:52.458Z', f2: [], f3: null });
  },
  'sqlserver/docs-create-customers-schema-payload.json': (n) => {
    const e = change(n, 'sqlserver/docs-key-customers.json');
    expect(e.after).toEqual(customers(1005, 'john', 'doe', 'john.doe@example.org'));
    expect(e.source).toMatchObject({ position: '00000027000007580005:00000027000007580003:00000001', txId: '00000027:00000758:0005', schema: 'dbo' });
    // The docs put nanoseconds in the envelope ts_ms; ignored, the commit time stands in.
    expect(e.tsMs).toBe(1559729468470);
  },
  'sqlserver/docs-delete-customers-payload.json': (n) =>
    expect(change(n)).toMatchObject({ op: 'd', after: null, source: { position: '0000002700000DB00007:0000002700000DB00005:00000001' } }),
  'sqlserver/docs-key-customers.json': (n) => expect(decodeFile(n)).toMatchObject({ kind: 'tombstone', key: { id: 1004 } }),
  'sqlserver/docs-schema-change-create-customers-payload.json': (n) =>
    expect(decodeFile(n)).toMatchObject({ kind: 'schema-change', databaseName: 'testDB', schemaName: 'dbo', ddl: null, source: { snapshot: 'true', position: '0000002500000D9800A2:00000000000000000000:00000000' } }),
  'sqlserver/docs-schema-change-key.json': (n) => expect(decodeFile(n)).toMatchObject({ kind: 'tombstone', key: { databaseName: 'testDB' } }),
  'sqlserver/docs-transaction-begin.json': (n) => expect(decodeFile(n)).toMatchObject({ kind: 'transaction', status: 'BEGIN', id: '00000025:00000d08:0025' }),
  'sqlserver/docs-transaction-end.json': (n) =>
    expect(decodeFile(n)).toMatchObject({ kind: 'transaction', status: 'END', eventCount: 2, dataCollections: [{ dataCollection: 'testDB.dbo.testDB.tablea', eventCount: 1 }, { dataCollection: 'testDB.dbo.testDB.tableb', eventCount: 1 }] }),
  'sqlserver/docs-update-customers-payload.json': (n) => {
    const e = change(n);
    expect(e.before?.email).toBe('john.doe@example.org');
    expect(e.after?.email).toBe('noreply@example.org');
    expect(e.source.position).toBe('0000002700000AC00007:0000002700000AC00002:00000002');
    // Committed before the delete of the same row: positions order as the stream.
    expect(e.source.position < change('sqlserver/docs-delete-customers-payload.json').source.position).toBe(true);
  },
  'sqlserver/seatunnel-read-all-types.json': (n) => {
    const e = change(n);
    expect(e.source).toMatchObject({ position: '00000000000000000000:00000000000000000000:00000000', txId: '00' });
    expect(e.after).toMatchObject({ f29: 'AQ==', f35: 20073, f39: 1734382927000000000, f41: '2024-12-16T21:02:09.799Z' });
  },
};

describe('Debezium fixtures', () => {
  it('every fixture file decodes and has expectations', () => {
    expect(FIXTURES.length).toBeGreaterThan(60);
    for (const name of FIXTURES) {
      expect(() => decodeFile(name), name).not.toThrow();
      expect(Object.keys(EXPECT), `no expectations for ${name}`).toContain(name);
    }
  });
  for (const [name, check] of Object.entries(EXPECT)) it(name, () => check(name));
});
