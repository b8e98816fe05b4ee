/**
 * The type matrix through live Debezium (PostgresConnector, JSON converter
 * with schemas, the README's exact-value settings) into a PostgreSQL and a
 * MariaDB target. Compared in SQL inside each target (see matrix.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { memoryLogger } from '../e2e/harness';
import { createTopic, deleteGroups, deleteTopics } from '../kafka/pipeline-support';
import {
  deleteConnector, flushPrefix, redisPrefix, registerConnector, requireEnv, requireKafka, TEST_ENV, uniqueName, uniqueTopic, waitFor,
  postgresConnectorConfig, waitForConnectorRunning,
} from '../support';
import { PG_MATRIX } from './columns';
import { PG_EXACT_SETTINGS } from './debezium-settings';
import {
  createTable, deadLetterKeys, deadLetters, expectConverged, matrixConfig, myDb, pgDb, snapshotArrived, stage, TABLE, writeSnapshotRows, writeSource, type Db,
} from './matrix';
import { PG_DEBEZIUM_EXPECTATIONS } from './debezium-expectations';

describe('type matrix: PostgreSQL → live Debezium → Kafka → PostgreSQL and MariaDB', () => {
  const { brokers, connectUrl } = requireKafka();
  const adminUrl = requireEnv(TEST_ENV.pg);
  const redisUrl = requireEnv(TEST_ENV.redis);
  requireEnv(TEST_ENV.mysql);
  const name = uniqueTopic('mx_pgdbz');
  const topic = `${name}.public.${TABLE}`;
  const groupId = `${name}_g`;
  const origin = uniqueName('o_mx_pgdbz');
  const keyPrefix = redisPrefix('mx-pgdbz');
  const schema = 'tandem_mx';
  const log = memoryLogger();
  const dbs: Db[] = [];
  let pipeline: RunningPipeline | undefined;
  let registered = false;

  afterAll(async () => {
    await pipeline?.stop();
    if (registered) await deleteConnector(connectUrl, name);
    await Promise.all(dbs.map((d) => d.db.drop()));
    await deleteTopics(brokers, [topic]);
    await deleteGroups(brokers, [`${groupId}.src`]);
    await flushPrefix(redisUrl, keyPrefix);
  });

  it('carries every type Debezium emits exactly, or as its documented conversion', { timeout: 180_000 }, async () => {
    const [src, pgdst, mydst, state] = await Promise.all([pgDb('mx_pgdbz_src'), pgDb('mx_pgdbz_pg'), myDb('mx_pgdbz_my'), pgDb('mx_pgdbz_state')]);
    dbs.push(src, pgdst, mydst, state);
    await Promise.all([createTable(src, PG_MATRIX), createTable(pgdst, PG_MATRIX), createTable(mydst, PG_MATRIX), createTopic(brokers, topic, 1)]);
    // A copy of the rows before the connector starts: read by its initial snapshot, the rest is streamed.
    await writeSnapshotRows(src, PG_MATRIX);
    const server = new URL(adminUrl);
    await registerConnector(connectUrl, name, {
      ...postgresConnectorConfig(server, src.db.name, name, `public.${TABLE}`),
      'snapshot.mode': 'initial',
      'skipped.operations': 'none',
      ...PG_EXACT_SETTINGS,
      'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'key.converter.schemas.enable': true,
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable': true,
    });
    registered = true;
    await waitForConnectorRunning(connectUrl, name, { timeoutMs: 45_000 });
    await waitFor(async () => (await src.run([`SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active`, [name]])).length === 1,
      { timeoutMs: 30_000, intervalMs: 200, message: `slot ${name} not active` });

    const env = { M_STATE_URL: state.db.url, M_SRC_URL: src.db.url, M_PGDST_URL: pgdst.db.url, M_MYDST_URL: mydst.db.url, M_REDIS_URL: redisUrl };
    const config = matrixConfig({
      schema, redisPrefix: keyPrefix, origin, sourceType: 'postgres',
      sourceCapture: `    debezium: { topicPrefix: ${name}, connector: postgresql }`,
      kafka: `kafka: { brokers: [${brokers.map((b) => `"${b}"`).join(', ')}], groupId: ${groupId}, sessionTimeoutMs: 10000 }`,
      sourceTable: `public.${TABLE}`, myTargetTable: `${mydst.db.name}.${TABLE}`, columns: PG_MATRIX.columns,
    });
    pipeline = await startPipeline(parseConfig(config, '/virtual/matrix-pg-debezium.yaml', env), { env, logger: log.logger, instanceId: 'mx-pgdbz' });

    await snapshotArrived(src.kind, [pgdst, mydst], PG_MATRIX);
    await writeSource(src, PG_MATRIX);
    const matrix = PG_DEBEZIUM_EXPECTATIONS(PG_MATRIX);
    const [toPg, toMy] = await Promise.all([stage(src, pgdst, matrix), stage(src, mydst, matrix)]);
    const diagnostics = async () => `dead letters:\n${await deadLetters(state, schema)}\nlog:\n${log.lines.map((l) => l.slice(0, 300)).join('\n')}`;
    await expectConverged('pg', [pgdst, mydst], matrix, diagnostics);

    // Rows a target must refuse are parked as APPLY_REJECTED, nothing else is.
    for (const [system, ids] of [['pgdst', toPg.rejectedIds], ['mydst', toMy.rejectedIds]] as const) {
      const refused = ids.map((id) => `src:${id}:APPLY_REJECTED`).sort();
      await waitFor(async () => (await deadLetterKeys(state, schema, system)).length >= refused.length, { timeoutMs: 20_000 }).catch(() => undefined);
      expect((await deadLetterKeys(state, schema, system)).sort(), await deadLetters(state, schema)).toEqual(refused);
    }
    expect(await deadLetterKeys(state, schema, 'src')).toEqual([]);
  });
});
