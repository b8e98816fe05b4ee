/**
 * End to end through real Debezium: PostgreSQL → Debezium PostgresConnector →
 * Kafka → tandem (`startPipeline`, the source captured via `debezium`) →
 * another PostgreSQL database. Every column type the issue lists, NULLs and a
 * TOASTed text column an update leaves unchanged arrive with exactly the same
 * text; updates update, deletes delete, a TRUNCATE is parked (onTruncate: dead-letter).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import {
  createPgDatabase, deleteConnector, flushPrefix, redisPrefix, registerConnector, requireEnv, requireKafka, TEST_ENV, uniqueTopic, waitFor,
  postgresConnectorConfig, waitForConnectorRunning, type TestDatabase,
} from '../support';
import { memoryLogger } from '../e2e/harness';
import { consumeUntil } from './consume';
import { createTopic, deleteGroups, deleteTopics, kafkaConfig, query } from './pipeline-support';

const COLUMNS = ['id', 'qty', 'price', 'due', 'at_time', 'happened', 'flag', 'doc', 'docb', 'ref', 'label', 'note', 'big'];
const DDL = `
CREATE TABLE item (
  id integer PRIMARY KEY, qty numeric(18,4), price numeric(19,2), due date, at_time time, happened timestamptz, flag boolean,
  doc json, docb jsonb, ref uuid, label text, note text, big text);`;

describe('PostgreSQL → real Debezium → Kafka → tandem → PostgreSQL', () => {
  const { brokers, connectUrl } = requireKafka();
  const adminUrl = requireEnv(TEST_ENV.pg);
  const redisUrl = requireEnv(TEST_ENV.redis);
  const name = uniqueTopic('k_pg2pg');
  const topic = `${name}.public.item`;
  const groupId = `${name}_g`;
  const keyPrefix = redisPrefix('kafka-pg2pg');
  const dbs: TestDatabase[] = [];
  let pipeline: RunningPipeline | undefined;
  let registered = false;
  const log = memoryLogger();

  afterAll(async () => {
    await pipeline?.stop();
    if (registered) await deleteConnector(connectUrl, name);
    await Promise.all(dbs.map((d) => d.drop())); // the source's drop() also drops the connector's slot
    await deleteTopics(brokers, [topic]);
    await deleteGroups(brokers, [`${groupId}.src`]);
    await flushPrefix(redisUrl, keyPrefix);
  });

  // json (not jsonb) is compared as jsonb: tandem carries JSON as a value (decoded with JSON.parse, stored in the
  // state store's jsonb), so key order and whitespace of a json column's text are not kept — its content is.
  const asText = (url: string) => query(url, `SELECT ${COLUMNS.map((c) => `${c === 'doc' ? 'doc::jsonb' : c}::text AS ${c}`).join(', ')} FROM item ORDER BY id`);

  it('copies every type exactly, keeps unchanged TOAST, applies updates and deletes, parks the truncate', { timeout: 150_000 }, async () => {
    const [src, dst, state] = await Promise.all([createPgDatabase('k_pg_src', adminUrl), createPgDatabase('k_pg_dst', adminUrl), createPgDatabase('k_pg_state', adminUrl)]);
    dbs.push(src, dst, state);
    await query(src.url, `${DDL} ALTER TABLE item REPLICA IDENTITY FULL;`);
    await query(dst.url, DDL);
    await createTopic(brokers, topic, 1);
    const server = new URL(adminUrl);
    await registerConnector(connectUrl, name, {
      ...postgresConnectorConfig(server, src.name, name, 'public.item'),
      'snapshot.mode': 'no_data',
      // Debezium skips truncates unless told otherwise
      'skipped.operations': 'none',
      'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'key.converter.schemas.enable': true,
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable': true,
    });
    registered = true;
    await waitForConnectorRunning(connectUrl, name, { timeoutMs: 45_000 });
    await waitFor(async () => (await query(src.url, 'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [name])).length === 1,
      { timeoutMs: 30_000, intervalMs: 200, message: `slot ${name} not active` });

    const env = { K_STATE_URL: state.url, K_SRC_URL: src.url, K_DST_URL: dst.url, K_REDIS_URL: redisUrl };
    const config = kafkaConfig({ brokers, groupId, topicPrefix: name, schema: 'tandem_k', redisPrefix: keyPrefix, sourceTable: 'public.item', targetTable: 'public.item', fields: COLUMNS });
    pipeline = await startPipeline(parseConfig(config, '/virtual/pg2pg.yaml', env), { env, logger: log.logger, instanceId: 'pg2pg' });

    await query(src.url, `
      INSERT INTO item VALUES
        (1, 12345678901234.5678, 99999999999999999.99, '2024-02-29', '23:59:59.123456', '2024-02-29 12:34:56.789012+05:30', true,
         '{"b": 1,  "a": [1, 2.5, "ß"]}', '{"z": {"y": null}, "n": -9007199254740991, "f": 0.125}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
         'Grüße, 東京 ✓ 🚀', 'it''s "quoted"', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 600) i)),
        (2, -0.0001, -1234.56, '0001-01-01', '00:00:00', '1970-01-01 00:00:00+00', false, 'null', '[]', '00000000-0000-0000-0000-000000000000', '', NULL, 'small'),
        (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);`);
    // leaves the TOASTed big column unchanged
    await query(src.url, `UPDATE item SET label = 'changed ✓', qty = 0.5 WHERE id = 1`);
    await query(src.url, `UPDATE item SET note = 'filled', due = '2025-12-31' WHERE id = 3`);
    await query(src.url, `DELETE FROM item WHERE id = 2`);

    const expected = await asText(src.url);
    expect(expected).toHaveLength(2);
    expect(String(expected[0]!.big).length).toBeGreaterThan(8_000);
    let got: Record<string, unknown>[] = [];
    await waitFor(async () => {
      got = await asText(dst.url);
      return JSON.stringify(got) === JSON.stringify(expected);
    }, { timeoutMs: 60_000, intervalMs: 250, message: () => `target differs:\n${JSON.stringify(got).slice(0, 2000)}\nexpected\n${JSON.stringify(expected).slice(0, 2000)}\n${log.lines.join('\n')}` });
    for (const column of COLUMNS) expect(got.map((r) => r[column]), column).toEqual(expected.map((r) => r[column]));
    expect(JSON.stringify(got)).not.toContain('__debezium_unavailable_value');

    // What Debezium sent for the unchanged TOAST column (REPLICA IDENTITY FULL): recorded for the report.
    const messages = await consumeUntil(brokers, topic, (m) => m.length >= 5, { timeoutMs: 20_000 });
    const update = messages.map((m) => (m.value ? JSON.parse(m.value) : null)).find((v) => v?.payload?.op === 'u' && v.payload.after.id === 1);
    const bigAfter = String(update.payload.after.big);
    console.info(`Debezium's after.big for the unchanged TOAST column: ${bigAfter === expected[0]!.big ? 'the full value (from the FULL before-image)' : JSON.stringify(bigAfter.slice(0, 60))}`);

    await query(src.url, 'TRUNCATE item');
    await waitFor(async () => (await query(state.url, `SELECT 1 FROM tandem_k.dead_letters WHERE error_code = 'TRUNCATE_NOT_APPLIED'`)).length === 1,
      { timeoutMs: 30_000, intervalMs: 250, message: () => `truncate not parked\n${log.lines.join('\n')}` });
    expect(await asText(dst.url)).toEqual(expected);
    expect(await query(state.url, `SELECT error_code FROM tandem_k.dead_letters WHERE error_code <> 'TRUNCATE_NOT_APPLIED'`)).toEqual([]);
  });
});
