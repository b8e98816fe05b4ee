/**
 * The canonical forms through live Debezium (issue 12): rows of the types
 * issue 12 found broken are read by the real PostgreSQL connector (snapshot
 * and streaming, interval.handling.mode=string as the README recommends), and
 * each decoded value must equal what native capture makes of the same row
 * (decodeValue of the text PostgreSQL prints under tandem's session settings).
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeDebeziumMessage } from '../../../src/capture/debezium';
import { normalClient, RAW_TEXT_TYPES } from '../../../src/capture/postgres/connection';
import { decodeValue } from '../../../src/capture/postgres/decode-value';
import type { Row } from '../../../src/capture';
import {
  createPgDatabase, deleteConnector, registerConnector, requireEnv, requireKafka, TEST_ENV, uniqueTopic, waitFor, waitForConnectorRunning, postgresConnectorConfig, type TestDatabase,
} from '../../support/index';
import { consumeUntil } from '../../kafka/consume';

const TABLE = `CREATE TABLE types (
  id integer PRIMARY KEY, touch integer NOT NULL DEFAULT 0,
  j jsonb, jt json, iv interval, b bit(10), f float8, r real, d date, ts timestamp, tstz timestamptz,
  by bytea, n numeric(40,10), m money, t time
); ALTER TABLE types REPLICA IDENTITY FULL`;

const ROWS = `INSERT INTO types (id, j, jt, iv, b, f, r, d, ts, tstz, by, n, m, t) VALUES
  (1, '{"n": 12345678901234567890123, "f": 0.1000000000000000055511151231257827}', '[1, 2.5, {"x": null}]',
   '-1 day -00:00:00.000001', B'1010000011', '-0', 'NaN', 'infinity', 'infinity', '-infinity',
   '\\xdeadbeef', 123456789012345678901234567890.1234567890, -92233720368547758.08, '24:00:00'),
  (2, '"abc"', '12345678901234567890123', '1 year 2 mons 3 days 04:05:06.000001', B'0000000001', 'Infinity', '-0',
   '2024-02-29', '0044-03-15 12:00:00.5 BC', '2024-01-01 00:00:00.123456+05:30', '\\x', 0, 0, '00:00:00.000001'),
  (3, '[]', 'null', '-838:59:59', B'1111111111', '1.7976931348623157e308', '3.4028235e38', '-infinity', '1900-01-01 00:00:00.000001',
   '1969-12-31 23:59:59.999999+00', '\\x00', -0.0000000001, 0.01, '00:00:00')`;

describe('canonical forms through live Debezium PostgreSQL', () => {
  const { brokers, connectUrl } = requireKafka();
  const adminUrl = requireEnv(TEST_ENV.pg);
  const server = new URL(adminUrl);
  const name = uniqueTopic('dbz_canon');
  let db: TestDatabase | undefined;
  let registered = false;

  afterAll(async () => {
    if (registered) await deleteConnector(connectUrl, name);
    await db?.drop();
  });

  it('snapshot and streamed values equal native capture of the same rows', async () => {
    db = await createPgDatabase('dbz_canon');
    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => {});
    await client.connect();
    let native: Map<number, Row>;
    try {
      await client.query(TABLE);
      await client.query(ROWS);
      native = await nativeRows(db.url);
      await registerConnector(connectUrl, name, {
        ...postgresConnectorConfig(server, db.name, name, 'public.types'),
        'snapshot.mode': 'initial',
        'interval.handling.mode': 'string',
        'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
        'key.converter.schemas.enable': true,
        'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
        'value.converter.schemas.enable': true,
      });
      registered = true;
      await waitForConnectorRunning(connectUrl, name, { timeoutMs: 45_000 });
      await waitFor(
        async () => (await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [name])).rowCount === 1,
        { timeoutMs: 30_000, intervalMs: 200, message: `replication slot ${name} not active` },
      );
      await client.query('UPDATE types SET touch = 1');
      // A BC date only through streaming: Debezium's snapshot (JDBC) drops the era (see README).
      await client.query(`INSERT INTO types (id, touch, d) VALUES (4, 1, '0044-03-15 BC')`);
    } finally {
      await client.end();
    }
    native = new Map([...native].map(([id, row]) => [id, { ...row, touch: 1 }]));
    native.set(4, { id: 4, touch: 1, j: null, jt: null, iv: null, b: null, f: null, r: null, d: '0044-03-15 BC', ts: null, tstz: null, by: null, n: null, m: null, t: null });

    const topic = `${name}.public.types`;
    const messages = await consumeUntil(brokers, topic, (m) => m.length >= 7, { timeoutMs: 60_000 });
    const decoded = messages.map((m) => decodeDebeziumMessage({ key: m.key, value: m.value, topic: m.topic, partition: m.partition, offset: m.offset }));
    const changes = decoded.flatMap((r) => (r.kind === 'change' ? [r.event] : []));
    expect(changes.map((e) => e.op)).toEqual(['r', 'r', 'r', 'u', 'u', 'u', 'c']);
    for (const event of changes) {
      const after = event.after!;
      const id = after.id as number;
      const expected = event.op === 'r' ? { ...native.get(id)!, touch: 0 } : native.get(id)!;
      expect({ id, ...after }).toEqual({ id, ...expected });
    }
  });
});

/** The rows as native capture decodes them: text under tandem's session settings, decoded by type OID. */
async function nativeRows(url: string): Promise<Map<number, Row>> {
  const client = normalClient(url, 'canonical-test');
  await client.connect();
  try {
    const result = await client.query({ text: 'SELECT * FROM types ORDER BY id', rowMode: 'array', types: RAW_TEXT_TYPES });
    const out = new Map<number, Row>();
    for (const values of result.rows as Array<Array<string | null>>) {
      const row: Row = {};
      result.fields.forEach((f, i) => {
        const text = values[i];
        row[f.name] = text === null || text === undefined ? null : decodeValue(text, f.dataTypeID);
      });
      out.set(row.id as number, row);
    }
    return out;
  } finally {
    await client.end();
  }
}
