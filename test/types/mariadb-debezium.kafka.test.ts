/**
 * The type matrix through live Debezium (MariaDbConnector, JSON converter with
 * schemas, the README's exact-value settings) into a MariaDB and a
 * PostgreSQL target. Compared in SQL inside each target (see matrix.ts).
 */
import { randomInt } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { memoryLogger } from '../e2e/harness';
import { createTopic, deleteGroups, deleteTopics } from '../kafka/pipeline-support';
import {
  deleteConnector, flushPrefix, redisPrefix, registerConnector, requireEnv, requireKafka, TEST_ENV, uniqueName, uniqueTopic, waitFor,
  waitForConnectorRunning,
} from '../support';
import { MY_MATRIX } from './columns';
import { MY_DEBEZIUM_EXPECTATIONS } from './debezium-expectations';
import { MARIADB_EXACT_SETTINGS } from './debezium-settings';
import {
  createTable, deadLetterKeys, deadLetters, expectConverged, matrixConfig, myDb, pgDb, snapshotArrived, stage, TABLE, writeSnapshotRows, writeSource, type Db,
} from './matrix';

describe('type matrix: MariaDB → live Debezium → Kafka → MariaDB and PostgreSQL', () => {
  const { brokers, connectUrl } = requireKafka();
  const adminUrl = requireEnv(TEST_ENV.mysql);
  const redisUrl = requireEnv(TEST_ENV.redis);
  requireEnv(TEST_ENV.pg);
  const server = new URL(adminUrl);
  const name = uniqueTopic('mx_mydbz');
  const historyTopic = `${name}.schema-history`;
  const groupId = `${name}_g`;
  const origin = uniqueName('o_mx_mydbz');
  const keyPrefix = redisPrefix('mx-mydbz');
  const user = uniqueName('dbzmx').slice(0, 32);
  const password = `pw_${randomInt(1e9)}`;
  const schema = 'tandem_mx';
  const log = memoryLogger();
  const dbs: Db[] = [];
  let topic = '';
  let pipeline: RunningPipeline | undefined;
  let registered = false;
  const admin = () => mysql.createConnection({ uri: adminUrl, connectTimeout: 10_000 });

  afterAll(async () => {
    await pipeline?.stop();
    if (registered) await deleteConnector(connectUrl, name);
    await Promise.all(dbs.map((d) => d.db.drop()));
    const conn = await admin();
    await conn.query('DROP USER IF EXISTS ?@?', [user, '%']).finally(() => conn.end());
    await deleteTopics(brokers, [historyTopic, ...(topic ? [topic] : [])]);
    await deleteGroups(brokers, [`${groupId}.src`]);
    await flushPrefix(redisUrl, keyPrefix);
  });

  it('carries every type Debezium emits exactly, or as its documented conversion', { timeout: 180_000 }, async () => {
    const [src, pgdst, mydst, state] = await Promise.all([myDb('mx_mydbz_src'), pgDb('mx_mydbz_pg'), myDb('mx_mydbz_my'), pgDb('mx_mydbz_state')]);
    dbs.push(src, pgdst, mydst, state);
    topic = `${name}.${src.db.name}.${TABLE}`;
    const conn = await admin();
    try {
      await conn.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password]);
      await conn.query('GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES ON *.* TO ?@?', [user, '%']);
    } finally {
      await conn.end();
    }
    await Promise.all([createTable(src, MY_MATRIX), createTable(pgdst, MY_MATRIX), createTable(mydst, MY_MATRIX), createTopic(brokers, topic, 1)]);
    // A copy of the rows before the connector starts: read by its initial snapshot, the rest is streamed.
    await writeSnapshotRows(src, MY_MATRIX);
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
      'database.include.list': src.db.name,
      'table.include.list': `${src.db.name}.${TABLE}`,
      'snapshot.mode': 'initial',
      'include.schema.changes': false,
      'skipped.operations': 'none',
      ...MARIADB_EXACT_SETTINGS,
      'schema.history.internal.kafka.bootstrap.servers': brokers.join(','),
      'schema.history.internal.kafka.topic': historyTopic,
      'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'key.converter.schemas.enable': true,
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable': true,
    });
    registered = true;
    await waitForConnectorRunning(connectUrl, name, { timeoutMs: 45_000 });
    await waitFor(async () => (await src.run([`SELECT 1 FROM information_schema.PROCESSLIST WHERE USER = ? AND COMMAND LIKE 'Binlog Dump%'`, [user]])).length > 0,
      { timeoutMs: 30_000, intervalMs: 200, message: `connector ${name} never opened its binlog dump connection` });

    const env = { M_STATE_URL: state.db.url, M_SRC_URL: src.db.url, M_PGDST_URL: pgdst.db.url, M_MYDST_URL: mydst.db.url, M_REDIS_URL: redisUrl };
    const config = matrixConfig({
      schema, redisPrefix: keyPrefix, origin, sourceType: 'mysql',
      sourceCapture: `    debezium: { topicPrefix: ${name}, connector: mariadb }`,
      kafka: `kafka: { brokers: [${brokers.map((b) => `"${b}"`).join(', ')}], groupId: ${groupId}, sessionTimeoutMs: 10000 }`,
      sourceTable: `${src.db.name}.${TABLE}`, myTargetTable: `${mydst.db.name}.${TABLE}`, columns: MY_MATRIX.columns,
    });
    pipeline = await startPipeline(parseConfig(config, '/virtual/matrix-mariadb-debezium.yaml', env), { env, logger: log.logger, instanceId: 'mx-mydbz' });

    await snapshotArrived(src.kind, [pgdst, mydst], MY_MATRIX);
    await writeSource(src, MY_MATRIX);
    const matrix = MY_DEBEZIUM_EXPECTATIONS(MY_MATRIX);
    await Promise.all([stage(src, pgdst, matrix), stage(src, mydst, matrix)]);
    const diagnostics = async () => `dead letters:\n${await deadLetters(state, schema)}\nlog:\n${log.lines.map((l) => l.slice(0, 300)).join('\n')}`;
    await expectConverged('my', [mydst, pgdst], matrix, diagnostics);
    for (const system of ['src', 'pgdst', 'mydst']) expect(await deadLetterKeys(state, schema, system), await deadLetters(state, schema)).toEqual([]);
  });
});
