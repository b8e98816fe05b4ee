/**
 * End to end through real Debezium from MariaDB: MariaDB → Debezium
 * MariaDbConnector → Kafka → tandem (`debezium`, connector mariadb) →
 * PostgreSQL. Decimals, dates, times, timestamps, booleans, JSON text, UUIDs,
 * unicode, NULLs and a large text arrive with the same text; updates update,
 * deletes delete, a TRUNCATE is parked (onTruncate: dead-letter).
 */
import { randomInt } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import {
  createMysqlDatabase, createPgDatabase, deleteConnector, flushPrefix, redisPrefix, registerConnector, requireEnv, requireKafka, TEST_ENV, uniqueName,
  uniqueTopic, waitFor, waitForConnectorRunning, type TestDatabase,
} from '../support';
import { memoryLogger } from '../e2e/harness';
import { createTopic, deleteGroups, deleteTopics, kafkaConfig, query } from './pipeline-support';

const COLUMNS = ['id', 'qty', 'price', 'due', 'at_time', 'happened', 'flag', 'doc', 'ref', 'label', 'note', 'big'];
/** The same text on both sides: MariaDB (session time zone UTC) and PostgreSQL (UTC). */
const MARIADB_TEXT: Record<string, string> = {
  due: "DATE_FORMAT(due, '%Y-%m-%d')", at_time: "TIME_FORMAT(at_time, '%H:%i:%s.%f')", happened: "DATE_FORMAT(happened, '%Y-%m-%d %H:%i:%s.%f')",
  flag: "IF(flag IS NULL, NULL, IF(flag, 'true', 'false'))",
};
const PG_TEXT: Record<string, string> = {
  due: "to_char(due, 'YYYY-MM-DD')", at_time: "to_char(at_time, 'HH24:MI:SS.US')", happened: "to_char(happened AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
};
const PG_DDL = `CREATE TABLE item (id integer PRIMARY KEY, qty numeric(18,4), price numeric(19,2), due date, at_time time, happened timestamptz,
  flag boolean, doc text, ref uuid, label text, note text, big text);`;

describe('MariaDB → real Debezium → Kafka → tandem → PostgreSQL', () => {
  const { brokers, connectUrl } = requireKafka();
  const adminUrl = requireEnv(TEST_ENV.mysql);
  const redisUrl = requireEnv(TEST_ENV.redis);
  requireEnv(TEST_ENV.pg);
  const server = new URL(adminUrl);
  const name = uniqueTopic('k_my2pg');
  const historyTopic = `${name}.schema-history`;
  const groupId = `${name}_g`;
  const keyPrefix = redisPrefix('kafka-my2pg');
  const user = uniqueName('dbzk').slice(0, 32);
  const password = `pw_${randomInt(1e9)}`;
  const pgDbs: TestDatabase[] = [];
  let db: TestDatabase | undefined;
  let topic = '';
  let pipeline: RunningPipeline | undefined;
  let registered = false;
  const log = memoryLogger();
  const admin = () => mysql.createConnection({ uri: adminUrl, connectTimeout: 10_000 });

  afterAll(async () => {
    await pipeline?.stop();
    if (registered) await deleteConnector(connectUrl, name);
    await db?.drop();
    const conn = await admin();
    await conn.query('DROP USER IF EXISTS ?@?', [user, '%']).finally(() => conn.end());
    await Promise.all(pgDbs.map((d) => d.drop()));
    await deleteTopics(brokers, [historyTopic, ...(topic ? [topic] : [])]);
    await deleteGroups(brokers, [`${groupId}.src`]);
    await flushPrefix(redisUrl, keyPrefix);
  });

  it('copies every type exactly, applies updates and deletes, parks the truncate', { timeout: 150_000 }, async () => {
    db = await createMysqlDatabase('k_my_src');
    topic = `${name}.${db.name}.item`;
    const conn = await admin();
    try {
      await conn.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password]);
      await conn.query('GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES ON *.* TO ?@?', [user, '%']);
      await conn.query(`CREATE TABLE \`${db.name}\`.item (id INT PRIMARY KEY, qty DECIMAL(18,4), price DECIMAL(19,2), due DATE, at_time TIME(6),
        happened TIMESTAMP(6) NULL, flag BOOLEAN, doc JSON, ref CHAR(36), label VARCHAR(200), note TEXT, big MEDIUMTEXT) CHARACTER SET utf8mb4`);
    } finally {
      await conn.end();
    }
    const [dst, state] = await Promise.all([createPgDatabase('k_my_dst'), createPgDatabase('k_my_state')]);
    pgDbs.push(dst, state);
    await query(dst.url, PG_DDL);
    await createTopic(brokers, topic, 1);
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
      'table.include.list': `${db.name}.item`,
      'snapshot.mode': 'no_data',
      'include.schema.changes': false,
      'skipped.operations': 'none',
      'schema.history.internal.kafka.bootstrap.servers': brokers.join(','),
      'schema.history.internal.kafka.topic': historyTopic,
      'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'key.converter.schemas.enable': true,
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable': true,
    });
    registered = true;
    await waitForConnectorRunning(connectUrl, name, { timeoutMs: 45_000 });
    const watcher = await admin();
    try {
      await waitFor(async () => {
        const [rows] = await watcher.query<mysql.RowDataPacket[]>("SELECT 1 FROM information_schema.PROCESSLIST WHERE USER = ? AND COMMAND LIKE 'Binlog Dump%'", [user]);
        return rows.length > 0;
      }, { timeoutMs: 30_000, intervalMs: 200, message: `connector ${name} never opened its binlog dump connection` });
    } finally {
      await watcher.end();
    }

    const env = { K_STATE_URL: state.url, K_SRC_URL: db.url, K_DST_URL: dst.url, K_REDIS_URL: redisUrl };
    const config = kafkaConfig({ brokers, groupId, topicPrefix: name, connector: 'mariadb', schema: 'tandem_k', redisPrefix: keyPrefix, sourceTable: `${db.name}.item`, targetTable: 'public.item', fields: COLUMNS });
    pipeline = await startPipeline(parseConfig(config, '/virtual/my2pg.yaml', env), { env, logger: log.logger, instanceId: 'my2pg' });

    const data = await mysql.createConnection({ uri: db.url, connectTimeout: 10_000, timezone: 'Z' });
    try {
      await data.query("SET time_zone = '+00:00'");
      await data.query(`INSERT INTO item VALUES
        (1, 12345678901234.5678, 99999999999999999.99, '2024-02-29', '23:59:59.123456', '2024-02-29 07:04:56.789012', TRUE,
         '{"b": 1, "a": [1, 2.50]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'Grüße, 東京 ✓ 🚀', 'it''s "quoted"', REPEAT('0123456789abcdef', 1000)),
        (2, -0.0001, -1234.56, '1999-12-31', '00:00:00', '1970-01-01 00:00:01', FALSE, '[]', '00000000-0000-0000-0000-000000000000', '', NULL, 'small'),
        (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
      await data.query("UPDATE item SET label = 'changed ✓', qty = 0.5 WHERE id = 1");
      await data.query("UPDATE item SET note = 'filled', due = '2025-12-31' WHERE id = 3");
      await data.query('DELETE FROM item WHERE id = 2');
      const [rows] = await data.query<mysql.RowDataPacket[]>(`SELECT ${COLUMNS.map((c) => `${MARIADB_TEXT[c] ?? `CAST(${c} AS CHAR)`} AS ${c}`).join(', ')} FROM item ORDER BY id`);
      const expected = rows.map((r) => ({ ...r }));
      expect(expected).toHaveLength(2);
      const asText = () => query(dst.url, `SELECT ${COLUMNS.map((c) => `${PG_TEXT[c] ?? `${c}::text`} AS ${c}`).join(', ')} FROM item ORDER BY id`);
      let got: Record<string, unknown>[] = [];
      await waitFor(async () => {
        got = await asText();
        return JSON.stringify(got) === JSON.stringify(expected);
      }, { timeoutMs: 60_000, intervalMs: 250, message: () => `target differs:\n${JSON.stringify(got).slice(0, 1500)}\nexpected\n${JSON.stringify(expected).slice(0, 1500)}\n${log.lines.join('\n')}` });
      for (const column of COLUMNS) expect(got.map((r) => r[column]), column).toEqual(expected.map((r) => r[column]));

      await data.query('TRUNCATE TABLE item');
      await waitFor(async () => (await query(state.url, `SELECT 1 FROM tandem_k.dead_letters WHERE error_code = 'TRUNCATE_NOT_APPLIED'`)).length === 1,
        { timeoutMs: 30_000, intervalMs: 250, message: () => `truncate not parked\n${log.lines.join('\n')}` });
      expect(await asText()).toEqual(expected);
    } finally {
      await data.end();
    }
    expect(await query(state.url, `SELECT error_code, error FROM tandem_k.dead_letters WHERE error_code <> 'TRUNCATE_NOT_APPLIED'`)).toEqual([]);
  });
});
