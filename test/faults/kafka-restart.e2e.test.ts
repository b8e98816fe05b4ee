/**
 * The Kafka broker SIGKILLed and started again while tandem consumes the
 * Debezium topic of a PostgreSQL source, with writes before the kill, while
 * the broker is down (Debezium cannot publish them: they wait in its
 * replication slot) and after the restart. The broker and Connect are the
 * test's own (scripts/kafka.sh on free ports, data in a temporary folder), so
 * the restart shows what a real deployment keeps: topics, committed offsets
 * and the connector's registration and offsets. Debezium and Connect deliver
 * at least once, so events may come twice; the target's trigger-fed write log
 * must still show every change exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import {
  createPgDatabase, flushPrefix, redisPrefix, registerConnector, requireEnv, TEST_ENV, uniqueTopic, waitFor,
  postgresConnectorConfig, waitForConnectorRunning, type TestDatabase,
} from '../support';
import { memoryLogger } from '../e2e/harness';
import { createTopic, kafkaConfig, query } from '../kafka/pipeline-support';
import { startPrivateKafka, type PrivateKafka } from './private-kafka';

const SOURCE_DDL = `CREATE TABLE item (id integer PRIMARY KEY, qty integer); ALTER TABLE item REPLICA IDENTITY FULL;`;
const TARGET_DDL = `
CREATE TABLE item (id integer PRIMARY KEY, qty integer);
CREATE TABLE write_log (n bigserial PRIMARY KEY, op text, id integer, qty integer);
CREATE FUNCTION log_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO write_log (op, id, qty) VALUES (TG_OP, COALESCE(NEW.id, OLD.id), NEW.qty);
  RETURN NULL;
END $$;
CREATE TRIGGER item_log AFTER INSERT OR UPDATE OR DELETE ON item FOR EACH ROW EXECUTE FUNCTION log_write();`;

describe('Kafka broker killed and restarted while tandem consumes Debezium topics', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const redisUrl = requireEnv(TEST_ENV.redis);
  const name = uniqueTopic('k_brokerkill');
  const keyPrefix = redisPrefix('kafka-broker-kill');
  const log = memoryLogger();
  let kafka: PrivateKafka;
  let src: TestDatabase;
  let dst: TestDatabase;
  let state: TestDatabase;
  let pipeline: RunningPipeline | undefined;
  let failure: unknown;

  /** Round r: 20 inserts (ids r*100+i), then 10 updates of them to distinct quantities, each its own transaction. */
  const load = async (round: number) => {
    for (let i = 0; i < 20; i++) await query(src.url, 'INSERT INTO item VALUES ($1, $2)', [round * 100 + i, round * 1000 + i]);
    for (let i = 0; i < 10; i++) await query(src.url, 'UPDATE item SET qty = $1 WHERE id = $2', [round * 1000 + 500 + i, round * 100 + i]);
  };
  const converged = async (timeoutMs: number) => {
    let progress = '';
    await waitFor(async () => {
      const [source, target] = await Promise.all([
        query(src.url, 'SELECT id, qty FROM item ORDER BY id'),
        query(dst.url, 'SELECT id, qty FROM item ORDER BY id'),
      ]);
      progress = `source ${source.length} rows, target ${target.length}`;
      return JSON.stringify(source) === JSON.stringify(target);
    }, { timeoutMs, intervalMs: 250, message: () => `the target did not converge (${progress})\n${log.lines.slice(-30).join('\n')}` });
  };

  beforeAll(async () => {
    [kafka, src, dst, state] = await Promise.all([
      startPrivateKafka(),
      createPgDatabase('k_brokerkill_src', adminUrl),
      createPgDatabase('k_brokerkill_dst', adminUrl),
      createPgDatabase('k_brokerkill_state', adminUrl),
    ]);
    await query(src.url, SOURCE_DDL);
    await query(dst.url, TARGET_DDL);
    await createTopic(kafka.brokers, `${name}.public.item`, 1);
    const server = new URL(adminUrl);
    await registerConnector(kafka.connectUrl, name, {
      ...postgresConnectorConfig(server, src.name, name, 'public.item'),
      'snapshot.mode': 'no_data',
    });
    await waitForConnectorRunning(kafka.connectUrl, name, { timeoutMs: 60_000 });
    await waitFor(async () => (await query(src.url, 'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [name])).length === 1,
      { timeoutMs: 30_000, intervalMs: 200, message: `slot ${name} not active` });

    const env = { K_STATE_URL: state.url, K_SRC_URL: src.url, K_DST_URL: dst.url, K_REDIS_URL: redisUrl };
    const config = kafkaConfig({
      brokers: kafka.brokers, groupId: `${name}_g`, topicPrefix: name, schema: 'tandem_bk', redisPrefix: keyPrefix,
      sourceTable: 'public.item', targetTable: 'public.item', fields: ['id', 'qty'],
    });
    pipeline = await startPipeline(parseConfig(config, '/virtual/broker-kill.yaml', env), { env, logger: log.logger, instanceId: 'broker-kill' });
    pipeline.done.catch((error: unknown) => { failure = error; });
  }, 300_000);

  afterAll(async () => {
    await pipeline?.stop();
    await kafka?.destroy();
    await Promise.all([src, dst, state].map((d) => d?.drop())); // the source's drop() also drops Debezium's slot
    await flushPrefix(redisUrl, keyPrefix);
  });

  it('resumes by itself after the restart and applies every change once', { timeout: 400_000 }, async () => {
    await load(1);
    await converged(60_000);

    // Round 2 is committed just before the kill: some of it is in the topic and not yet consumed, some not yet published.
    await load(2);
    await kafka.killBroker();
    await load(3);
    await new Promise((r) => setTimeout(r, 5_000));
    const t0 = Date.now();
    await kafka.start();
    await waitForConnectorRunning(kafka.connectUrl, name, { timeoutMs: 120_000 });
    const t1 = Date.now();
    await load(4);
    await converged(180_000);
    console.info(`restart ${t1 - t0} ms, converged ${Date.now() - t1} ms later`);

    expect(await query(dst.url, 'SELECT op, id, qty FROM write_log GROUP BY 1, 2, 3 HAVING count(*) > 1')).toEqual([]);
    expect(await query(dst.url, 'SELECT op, count(*)::int AS n FROM write_log GROUP BY 1 ORDER BY 1'))
      .toEqual([{ op: 'INSERT', n: 80 }, { op: 'UPDATE', n: 40 }]);
    // The consumer lost its broker for real: the source restarted with backoff, by itself, and the pipeline never gave up.
    expect(log.lines.some((l) => l.includes('source failed; restarting') && l.includes('ECONNREFUSED'))).toBe(true);
    expect(failure).toBeUndefined();
  });
});
