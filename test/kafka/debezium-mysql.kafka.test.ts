import { randomInt } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createMysqlDatabase,
  deleteConnector,
  registerConnector,
  requireEnv,
  requireKafka,
  TEST_ENV,
  uniqueName,
  uniqueTopic,
  waitFor,
  waitForConnectorRunning,
  type TestDatabase,
} from '../support/index';
import { consumeUntil, kafkaClient, saveCaptured } from './consume';

/** Debezium's `precise` decimal: base64 of the big-endian two's-complement unscaled value. */
function unscaled(base64: string): bigint {
  const bytes = Buffer.from(base64, 'base64');
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) n -= 1n << BigInt(bytes.length * 8);
  return n;
}

// The test server is MariaDB. Debezium 3.x's MySqlConnector refuses it (it sends
// SHOW BINARY LOG STATUS, unknown to MariaDB 10.11); MariaDB has its own connector,
// MariaDbConnector, same binlog engine and envelope, `source.connector` = "mariadb".
describe('Debezium MariaDB (binlog) connector → Kafka (real Connect worker)', () => {
  const { brokers, connectUrl } = requireKafka();
  const adminUrl = requireEnv(TEST_ENV.mysql);
  const server = new URL(adminUrl);
  const name = uniqueTopic('dbz_my');
  const historyTopic = `${name}.schema-history`;
  // a replication client of its own: the connector's user gets exactly what Debezium documents
  const user = uniqueName('dbz').slice(0, 32);
  const password = `pw_${randomInt(1e9)}`;
  let db: TestDatabase | undefined;
  let connectorRegistered = false;
  let userCreated = false;

  const admin = () => mysql.createConnection({ uri: adminUrl, connectTimeout: 10_000 });

  afterAll(async () => {
    if (connectorRegistered) await deleteConnector(connectUrl, name);
    await db?.drop();
    if (userCreated) {
      const conn = await admin();
      try {
        await conn.query('DROP USER IF EXISTS ?@?', [user, '%']);
      } finally {
        await conn.end();
      }
    }
    const kafkaAdmin = kafkaClient(brokers, 'tandem-test-admin', { quiet: true }).admin();
    await kafkaAdmin.connect();
    await kafkaAdmin.deleteTopics({ topics: [historyTopic] }).catch(() => {});
    await kafkaAdmin.disconnect();
  });

  it('publishes insert, update, delete and the tombstone from the binlog', async () => {
    db = await createMysqlDatabase('dbz_my');
    const conn = await admin();
    try {
      await conn.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password]);
      userCreated = true;
      // Debezium's documented grants for its MySQL/MariaDB user (REPLICATION CLIENT is BINLOG MONITOR in MariaDB)
      await conn.query('GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES ON *.* TO ?@?', [
        user,
        '%',
      ]);
      await conn.query(`
        CREATE TABLE \`${db.name}\`.customer (
          id INT PRIMARY KEY,
          name VARCHAR(100) NOT NULL,
          balance DECIMAL(18,4),
          active BOOLEAN NOT NULL DEFAULT TRUE,
          updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
        ) CHARACTER SET utf8mb4`);
    } finally {
      await conn.end();
    }

    await registerConnector(connectUrl, name, {
      'connector.class': 'io.debezium.connector.mariadb.MariaDbConnector',
      'tasks.max': 1,
      'database.hostname': server.hostname,
      'database.port': server.port || '3306',
      'database.user': user,
      'database.password': password,
      'database.server.id': randomInt(100_000, 2 ** 31 - 1),
      'database.ssl.mode': 'disable',
      'topic.prefix': name,
      'database.include.list': db.name,
      'table.include.list': `${db.name}.customer`,
      'snapshot.mode': 'no_data',
      'include.schema.changes': false,
      'schema.history.internal.kafka.bootstrap.servers': brokers.join(','),
      'schema.history.internal.kafka.topic': historyTopic,
      'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'key.converter.schemas.enable': true,
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable': true,
    });
    connectorRegistered = true;
    await waitForConnectorRunning(connectUrl, name, { timeoutMs: 45_000 });
    // RUNNING comes before the schema snapshot reads its binlog position; rows written
    // before that are lost to a no_data snapshot. Once the connector's user holds a
    // binlog dump connection, it streams from a position taken before now.
    const watcher = await admin();
    try {
      await waitFor(
        async () => {
          const [rows] = await watcher.query<mysql.RowDataPacket[]>(
            "SELECT 1 FROM information_schema.PROCESSLIST WHERE USER = ? AND COMMAND LIKE 'Binlog Dump%'",
            [user],
          );
          return rows.length > 0;
        },
        { timeoutMs: 30_000, intervalMs: 200, message: `connector ${name} never opened its binlog dump connection` },
      );
    } finally {
      await watcher.end();
    }
    const data = await mysql.createConnection({ uri: db.url, connectTimeout: 10_000 });
    try {
      await data.query("INSERT INTO customer (id, name, balance) VALUES (1, 'Ada', 1234.5600), (2, 'Bob ✓', -0.0001)");
      await data.query("UPDATE customer SET name = 'Ada Lovelace', balance = 99999999999999.9999 WHERE id = 1");
      await data.query('DELETE FROM customer WHERE id = 2');
    } finally {
      await data.end();
    }

    const topic = `${name}.${db.name}.customer`;
    const messages = await consumeUntil(brokers, topic, (m) => m.length >= 5, { timeoutMs: 40_000 });
    const parsed = messages.map((m) => ({ key: JSON.parse(m.key ?? 'null'), value: m.value === null ? null : JSON.parse(m.value) }));
    const [ins1, ins2, upd, del, tomb] = parsed;

    expect(ins1!.key).toEqual({
      schema: { type: 'struct', fields: [{ type: 'int32', optional: false, field: 'id' }], optional: false, name: `${topic}.Key` },
      payload: { id: 1 },
    });
    expect(ins1!.value.schema.name).toBe(`${topic}.Envelope`);
    const after = ins1!.value.schema.fields.find((f: any) => f.field === 'after');
    expect(after.fields.find((f: any) => f.field === 'balance')).toMatchObject({
      type: 'bytes',
      name: 'org.apache.kafka.connect.data.Decimal',
      parameters: { scale: '4' },
    });

    const p = ins1!.value.payload;
    expect(p).toMatchObject({ op: 'c', before: null, after: { id: 1, name: 'Ada', active: 1 } });
    expect(unscaled(p.after.balance)).toBe(12345600n);
    expect(p.source).toMatchObject({ connector: 'mariadb', name, db: db.name, table: 'customer', snapshot: 'false', row: 0 });
    expect(typeof p.source.file).toBe('string');
    expect(typeof p.source.pos).toBe('number');
    expect(ins2!.value.payload).toMatchObject({ op: 'c', after: { id: 2, name: 'Bob ✓' } });
    // one statement, two rows: same binlog event position, row 0 and 1
    expect(ins2!.value.payload.source).toMatchObject({ file: p.source.file, pos: p.source.pos, row: 1 });
    expect(unscaled(ins2!.value.payload.after.balance)).toBe(-1n);

    expect(upd!.value.payload).toMatchObject({ op: 'u', before: { id: 1, name: 'Ada' }, after: { id: 1, name: 'Ada Lovelace' } });
    expect(unscaled(upd!.value.payload.after.balance)).toBe(999999999999999999n);
    expect(del!.key.payload).toEqual({ id: 2 });
    expect(del!.value.payload).toMatchObject({ op: 'd', before: { id: 2, name: 'Bob ✓' }, after: null });
    expect(tomb!.key.payload).toEqual({ id: 2 });
    expect(tomb!.value).toBeNull();
    expect(messages).toHaveLength(5);

    saveCaptured(
      'mariadb-insert.json',
      messages[0]!,
      `Debezium 3.5.0.Final MariaDbConnector against MariaDB 10.11 (binlog ROW, FULL image), JsonConverter schemas.enable=true: ` +
        `INSERT INTO customer (id, name, balance) VALUES (1, 'Ada', 1234.5600), (2, 'Bob ✓', -0.0001) — first row`,
    );
  });
});
