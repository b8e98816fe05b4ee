/**
 * Poison messages on a subscribed topic — invalid JSON, valid JSON of no
 * Debezium shape, an event for a table no mapping covers — are parked in the
 * dead-letter store with their raw bytes, topic, partition and offset; the
 * offsets are committed past them and later good messages are applied.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { createPgDatabase, flushPrefix, redisPrefix, requireEnv, requireKafka, TEST_ENV, uniqueName, waitFor, type TestDatabase } from '../support';
import { memoryLogger } from '../e2e/harness';
import { createTopic, CUSTOMER_DDL, customerEvent, deleteGroups, deleteTopics, kafka, kafkaConfig, query } from './pipeline-support';

describe('Kafka source: poison messages are parked, not fatal', () => {
  const { brokers } = requireKafka();
  const redisUrl = requireEnv(TEST_ENV.redis);
  requireEnv(TEST_ENV.pg);
  const prefix = uniqueName('poison');
  const topic = `${prefix}.public.customer`;
  const groupId = uniqueName('g_poison');
  const keyPrefix = redisPrefix('kafka-poison');
  let state: TestDatabase | undefined;
  let dst: TestDatabase | undefined;
  let pipeline: RunningPipeline | undefined;
  const log = memoryLogger();

  afterAll(async () => {
    await pipeline?.stop();
    await Promise.all([state?.drop(), dst?.drop()]);
    await deleteTopics(brokers, [topic]);
    await deleteGroups(brokers, [`${groupId}.src`]);
    await flushPrefix(redisUrl, keyPrefix);
  });

  it('parks invalid JSON, an unknown shape and an unmapped table with their bytes and coordinates; good messages go on', { timeout: 90_000 }, async () => {
    [state, dst] = await Promise.all([createPgDatabase('k_poison_state'), createPgDatabase('k_poison_dst')]);
    await query(dst.url, CUSTOMER_DDL);
    await createTopic(brokers, topic, 1);
    const env = { K_STATE_URL: state.url, K_SRC_URL: state.url, K_DST_URL: dst.url, K_REDIS_URL: redisUrl };
    const loaded = parseConfig(kafkaConfig({ brokers, groupId, topicPrefix: prefix, schema: 'tandem_k', redisPrefix: keyPrefix }), '/virtual/poison.yaml', env);
    pipeline = await startPipeline(loaded, { env, logger: log.logger, instanceId: 'poison' });

    const row = (id: number, name: string) => ({ id, name, balance: '12.3400', active: true, updated_at: '2026-01-02T03:04:05.123456Z' });
    const good1 = customerEvent(prefix, 1, null, row(1, 'before poison'));
    const otherTable = customerEvent(prefix, 2, null, row(9, 'unmapped'));
    const unmapped = { key: otherTable.key, value: otherTable.value.replace('"table":"customer"', '"table":"not_mapped"') };
    const good2 = customerEvent(prefix, 3, row(1, 'before poison'), row(1, 'after poison'));
    const good3 = customerEvent(prefix, 4, null, row(2, 'second'));
    const producer = kafka(brokers).producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        good1,
        { key: '{"id":', value: '{"payload": {not json' },
        { key: null, value: '{"hello":"world","n":12345678901234567890}' },
        unmapped,
        good2,
        good3,
      ].map((m) => ({ key: m.key, value: m.value, partition: 0 })),
    });
    await producer.disconnect();

    await waitFor(async () => {
      const rows = await query(dst!.url, 'SELECT id, name FROM customer ORDER BY id');
      return rows.length === 2 && rows[0]!.name === 'after poison' && rows[1]!.name === 'second';
    }, { timeoutMs: 45_000, intervalMs: 200, message: () => `good messages not applied\n${log.lines.join('\n')}` });

    const parked = await query<{ error_code: string; error: string; position: string; payload: Record<string, unknown> }>(
      state.url, `SELECT error_code, error, position, payload FROM tandem_k.dead_letters WHERE system = 'src' ORDER BY position`);
    expect(parked.map((p) => [p.error_code, p.payload.offset])).toEqual([
      ['EVENT_UNDECODABLE', '1'], ['EVENT_UNDECODABLE', '2'], ['TABLE_UNMAPPED', '3'],
    ]);
    const [badJson, unknownShape, other] = parked;
    expect(badJson!.payload).toMatchObject({ topic, partition: 0, offset: '1' });
    expect(Buffer.from(badJson!.payload.key as string, 'base64').toString()).toBe('{"id":');
    expect(Buffer.from(badJson!.payload.value as string, 'base64').toString()).toBe('{"payload": {not json');
    expect(badJson!.error).toMatch(/offset 1/);
    // the big number kept to the digit: the bytes are stored, not a parse of them
    expect(Buffer.from(unknownShape!.payload.value as string, 'base64').toString()).toBe('{"hello":"world","n":12345678901234567890}');
    expect(unknownShape!.payload.key).toBeNull();
    expect(unknownShape!.error).toMatch(/not a Debezium event/);
    expect(Buffer.from(other!.payload.value as string, 'base64').toString()).toBe(unmapped.value);
    expect(other!.error).toMatch(/not_mapped/);

    // every offset, poison included, committed
    await waitFor(async () => {
      const admin = kafka(brokers).admin();
      await admin.connect();
      try {
        const [offsets] = await admin.fetchOffsets({ groupId: `${groupId}.src`, topics: [topic] });
        return offsets?.partitions[0]?.offset === '6';
      } finally {
        await admin.disconnect();
      }
    }, { timeoutMs: 15_000, intervalMs: 200, message: 'the group did not commit offset 6' });
    expect(await query(dst.url, 'SELECT count(*)::int AS n FROM write_log')).toEqual([{ n: 3 }]);
  });
});
