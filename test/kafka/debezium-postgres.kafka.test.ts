import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createPgDatabase,
  deleteConnector,
  registerConnector,
  requireEnv,
  requireKafka,
  TEST_ENV,
  uniqueTopic,
  waitFor,
  waitForConnectorRunning,
  postgresConnectorConfig,
  type TestDatabase,
} from '../support/index';
import { consumeUntil, saveCaptured, type ConsumedMessage } from './consume';

/** Debezium's `precise` decimal: base64 of the big-endian two's-complement unscaled value. */
function unscaled(base64: string): bigint {
  const bytes = Buffer.from(base64, 'base64');
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) n -= 1n << BigInt(bytes.length * 8);
  return n;
}

const field = (schema: any, name: string) => schema.fields.find((f: any) => f.field === name);

describe('Debezium PostgreSQL connector → Kafka (real Connect worker)', () => {
  const { brokers, connectUrl } = requireKafka();
  const adminUrl = requireEnv(TEST_ENV.pg);
  const server = new URL(adminUrl);
  const name = uniqueTopic('dbz_pg');
  let db: TestDatabase | undefined;
  let connectorRegistered = false;

  afterAll(async () => {
    if (connectorRegistered) await deleteConnector(connectUrl, name);
    // drop() terminates the walsender, drops the connector's slot, then the database
    await db?.drop();
  });

  it('publishes insert, update, delete and the tombstone as JSON envelopes with schemas', async () => {
    db = await createPgDatabase('dbz_pg');
    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => {});
    await client.connect();
    try {
      await client.query(`
        CREATE TABLE customer (
          id integer PRIMARY KEY,
          name text NOT NULL,
          balance numeric(18,4),
          active boolean NOT NULL DEFAULT true,
          updated_at timestamptz NOT NULL DEFAULT now()
        );
        ALTER TABLE customer REPLICA IDENTITY FULL;
      `);

      await registerConnector(connectUrl, name, {
        ...postgresConnectorConfig(server, db.name, name, 'public.customer'),
        'snapshot.mode': 'no_data',
        'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
        'key.converter.schemas.enable': true,
        'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
        'value.converter.schemas.enable': true,
      });
      connectorRegistered = true;
      await waitForConnectorRunning(connectUrl, name, { timeoutMs: 45_000 });
      // Streaming starts from the slot: change rows only once it exists and the walsender uses it.
      await waitFor(
        async () =>
          (
            await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [name])
          ).rowCount === 1,
        { timeoutMs: 30_000, intervalMs: 200, message: `replication slot ${name} not active` },
      );

      await client.query("INSERT INTO customer (id, name, balance) VALUES (1, 'Ada', 1234.5600), (2, 'Bob ✓', -0.0001)");
      await client.query("UPDATE customer SET name = 'Ada Lovelace', balance = 99999999999999.9999 WHERE id = 1");
      await client.query('DELETE FROM customer WHERE id = 2');
    } finally {
      await client.end();
    }

    const topic = `${name}.public.customer`;
    const messages = await consumeUntil(brokers, topic, (m) => m.length >= 5, { timeoutMs: 40_000 });
    expect(messages).toHaveLength(5);
    const parsed = messages.map((m: ConsumedMessage) => ({
      key: JSON.parse(m.key ?? 'null'),
      value: m.value === null ? null : JSON.parse(m.value),
    }));
    const [ins1, ins2, upd, del, tomb] = parsed;

    // keys: JSON converter with schema
    expect(ins1!.key).toEqual({
      schema: { type: 'struct', fields: [{ type: 'int32', optional: false, field: 'id' }], optional: false, name: `${topic}.Key` },
      payload: { id: 1 },
    });

    // envelope schema
    const schema = ins1!.value.schema;
    expect(schema.name).toBe(`${topic}.Envelope`);
    expect(schema.fields.map((f: any) => f.field)).toEqual(
      expect.arrayContaining(['before', 'after', 'source', 'op', 'ts_ms', 'transaction']),
    );
    const balance = field(field(schema, 'after'), 'balance');
    expect(balance).toMatchObject({ type: 'bytes', name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: '4' } });
    expect(field(field(schema, 'after'), 'updated_at')).toMatchObject({ type: 'string', name: 'io.debezium.time.ZonedTimestamp' });

    // insert
    expect(ins1!.value.payload).toMatchObject({ op: 'c', before: null, after: { id: 1, name: 'Ada', active: true } });
    expect(unscaled(ins1!.value.payload.after.balance)).toBe(12345600n);
    expect(ins1!.value.payload.after.updated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const source = ins1!.value.payload.source;
    expect(source).toMatchObject({ connector: 'postgresql', name, db: db.name, schema: 'public', table: 'customer', snapshot: 'false' });
    expect(typeof source.lsn).toBe('number');
    expect(typeof source.txId).toBe('number');
    expect(ins2!.value.payload).toMatchObject({ op: 'c', after: { id: 2, name: 'Bob ✓' } });
    expect(unscaled(ins2!.value.payload.after.balance)).toBe(-1n);
    // one statement, two rows, one transaction: same txId
    expect(ins2!.value.payload.source.txId).toBe(source.txId);

    // update with a full before-image (REPLICA IDENTITY FULL)
    expect(upd!.key.payload).toEqual({ id: 1 });
    expect(upd!.value.payload).toMatchObject({
      op: 'u',
      before: { id: 1, name: 'Ada' },
      after: { id: 1, name: 'Ada Lovelace' },
    });
    expect(unscaled(upd!.value.payload.before.balance)).toBe(12345600n);
    expect(unscaled(upd!.value.payload.after.balance)).toBe(999999999999999999n);
    expect(upd!.value.payload.source.lsn).toBeGreaterThan(source.lsn);

    // delete, then the tombstone for the same key
    expect(del!.key.payload).toEqual({ id: 2 });
    expect(del!.value.payload).toMatchObject({ op: 'd', before: { id: 2, name: 'Bob ✓' }, after: null });
    expect(del!.value.payload.source.lsn).toBeGreaterThan(upd!.value.payload.source.lsn);
    expect(tomb!.key.payload).toEqual({ id: 2 });
    expect(tomb!.value).toBeNull();
    expect(messages[4]!.offset).toBe('4');

    const how = `Debezium 3.6.1.Final PostgresConnector (pgoutput), JsonConverter schemas.enable=true, REPLICA IDENTITY FULL`;
    saveCaptured('pg-insert.json', messages[0]!, `${how}: INSERT INTO customer (id, name, balance) VALUES (1, 'Ada', 1234.5600), (2, 'Bob ✓', -0.0001) — first row`);
    saveCaptured('pg-update.json', messages[2]!, `${how}: UPDATE customer SET name = 'Ada Lovelace', balance = 99999999999999.9999 WHERE id = 1`);
    saveCaptured('pg-delete.json', messages[3]!, `${how}: DELETE FROM customer WHERE id = 2`);
    saveCaptured('pg-tombstone.json', messages[4]!, `${how}: the tombstone (null value) that follows the delete of id 2`);
  });
});
