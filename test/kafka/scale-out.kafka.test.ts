/**
 * Scale-out: two `tandem run` processes, same configuration, one consumer
 * group, a 4-partition topic of Debezium-shaped events (keyed by row, as
 * Debezium publishes). One is killed with SIGKILL mid-load; its partitions
 * move to the other; the target's write log then shows every change exactly
 * once: no (row, value) written twice, every value written present.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgDatabase, flushPrefix, redisPrefix, requireEnv, requireKafka, TEST_ENV, uniqueName, waitFor, type TestDatabase } from '../support';
import { startTandem, type Tandem } from '../e2e/child';
import { createTopic, CUSTOMER_DDL, customerEvent, deleteGroups, deleteTopics, kafka, kafkaConfig, query, type CustomerRow } from './pipeline-support';

const ROWS = 200;
const CHANGES = 3_000;

describe('two tandem processes in one consumer group; one killed mid-load', () => {
  const { brokers } = requireKafka();
  const redisUrl = requireEnv(TEST_ENV.redis);
  requireEnv(TEST_ENV.pg);
  const prefix = uniqueName('scale');
  const topic = `${prefix}.public.customer`;
  const groupId = uniqueName('g_scale');
  const keyPrefix = redisPrefix('kafka-scale');
  const dbs: TestDatabase[] = [];
  const processes: Tandem[] = [];
  let dir = '';

  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    processes.forEach((p, i) => writeFileSync(join(tmpdir(), `tandem-kafka-scale-${i + 1}.log`), p.output()));
    await Promise.all(dbs.map((d) => d.drop()));
    await deleteTopics(brokers, [topic]);
    await deleteGroups(brokers, [`${groupId}.src`]);
    await flushPrefix(redisUrl, keyPrefix);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const logsOf = () => processes.map((p, i) => `--- process ${i + 1}:\n${p.output().slice(-3000)}`).join('\n');

  it('moves the killed process\'s partitions to the survivor; every change applied exactly once', { timeout: 180_000 }, async () => {
    const [state, dst] = await Promise.all([createPgDatabase('k_scale_state'), createPgDatabase('k_scale_dst')]);
    dbs.push(state, dst);
    await query(dst.url, CUSTOMER_DDL);
    await createTopic(brokers, topic, 4);
    dir = mkdtempSync(join(tmpdir(), 'tandem-kafka-scale-'));
    const configFile = join(dir, 'tandem.yaml');
    writeFileSync(configFile, kafkaConfig({ brokers, groupId, topicPrefix: prefix, schema: 'tandem_k', redisPrefix: keyPrefix }));
    const env = { K_STATE_URL: state.url, K_SRC_URL: state.url, K_DST_URL: dst.url, K_REDIS_URL: redisUrl, TANDEM_LOG_LEVEL: 'info', TANDEM_PIPELINE_SCALE_OUT: 'true' };
    // The state store is migrated by the first; start the second once it is. The events are made up
    // (no source database has the table), so the preflight, which would say so, is skipped.
    processes.push(startTandem(['run', '--config', configFile, '--skip-check'], env));
    await waitFor(async () => (await query(state.url, `SELECT 1 FROM information_schema.tables WHERE table_schema = 'tandem_k' AND table_name = 'outbox'`)).length === 1,
      { timeoutMs: 30_000, message: () => `first tandem did not migrate\n${logsOf()}` });
    processes.push(startTandem(['run', '--config', configFile, '--skip-check'], env));
    const [first, second] = processes as [Tandem, Tandem];

    const admin = kafka(brokers).admin();
    await admin.connect();
    const members = async () => {
      const { groups } = await admin.describeGroups([`${groupId}.src`]);
      return groups[0]?.state === 'Stable' ? groups[0].members.length : 0;
    };
    await waitFor(async () => (await members()) === 2, { timeoutMs: 60_000, intervalMs: 250, message: () => `the group never had two members\n${logsOf()}` });

    const writes = async () => Number((await query(dst.url, 'SELECT count(*)::int AS n FROM write_log'))[0]!.n);
    const written = new Map<number, string[]>();
    const current = new Map<number, CustomerRow>();
    const producer = kafka(brokers).producer();
    await producer.connect();
    let killedAt = -1;
    try {
      let seq = 0;
      let rng = 4242;
      const random = (n: number) => ((rng = (rng * 1103515245 + 12345) % 2 ** 31), rng % n);
      while (seq < CHANGES) {
        const messages: Array<{ key: string; value: string }> = [];
        for (let i = 0; i < 50 && seq < CHANGES; i++, seq++) {
          const id = seq < ROWS ? seq + 1 : 1 + random(ROWS);
          const before = current.get(id) ?? null;
          const after: CustomerRow = { id, name: `c${id}-v${seq}`, balance: `${seq}.${String(seq % 10_000).padStart(4, '0')}`, active: seq % 2 === 0, updated_at: '2026-01-01T00:00:00.000001Z' };
          current.set(id, after);
          written.set(id, [...(written.get(id) ?? []), after.name]);
          messages.push(customerEvent(prefix, seq, before, after));
        }
        await producer.send({ topic, messages });
        if (killedAt < 0 && (await writes()) >= 700) {
          first.child.kill('SIGKILL');
          await first.exited;
          killedAt = await writes();
        }
        await new Promise((r) => setTimeout(r, 40));
      }
    } finally {
      await producer.disconnect();
    }
    if (killedAt < 0) {
      // the load was applied faster than we looked: kill now, before the last of it is done
      first.child.kill('SIGKILL');
      await first.exited;
      killedAt = await writes();
    }
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    let progress = '';
    await waitFor(async () => {
      const rows = await query<{ id: number; name: string }>(dst.url, 'SELECT id, name FROM customer');
      const names = new Map(rows.map((r) => [r.id, r.name]));
      const behind = [...written].filter(([id, values]) => names.get(id) !== values.at(-1)).length;
      const open = await query(state.url, `SELECT status, count(*)::int AS n FROM tandem_k.outbox GROUP BY 1`);
      progress = `rows behind ${behind}; outbox ${JSON.stringify(open)}; writes ${await writes()}`;
      return behind === 0 && !open.some((o) => o.status === 'pending' || o.status === 'inflight');
    }, { timeoutMs: 90_000, intervalMs: 300, message: () => `target did not converge (${progress})\n${logsOf()}` });
    expect(second.child.exitCode).toBeNull();
    // the survivor was given the killed process's partitions: all four
    await waitFor(() => second.output().includes('"partitions":4'), { timeoutMs: 30_000, message: () => `the survivor never owned all partitions\n${logsOf()}` });
    await waitFor(async () => (await members()) === 1, { timeoutMs: 30_000, intervalMs: 250, message: 'the killed member is still in the group' });
    await admin.disconnect();

    const log = await query<{ op: string; row_key: string; new_value: string }>(dst.url, 'SELECT op, row_key, new_value FROM write_log ORDER BY id');
    const seen = new Map<string, number>();
    for (const w of log) seen.set(`${w.row_key}=${w.new_value}`, (seen.get(`${w.row_key}=${w.new_value}`) ?? 0) + 1);
    expect([...seen].filter(([, n]) => n > 1).map(([k]) => k), 'applied twice').toEqual([]);
    const lost = [...written].flatMap(([id, values]) => values.filter((v) => !seen.has(`${id}=${v}`)).map((v) => `${id}=${v}`));
    expect(lost, 'changes never applied').toEqual([]);
    expect(log).toHaveLength(CHANGES);
    expect(log.filter((w) => w.op === 'INSERT')).toHaveLength(ROWS);
    expect(killedAt).toBeLessThan(CHANGES);
    // the dead-letter store stayed empty
    expect(await query(state.url, 'SELECT error_code FROM tandem_k.dead_letters')).toEqual([]);
    console.info(`scale-out: ${CHANGES} changes, first process killed after ${killedAt} target writes`);
  });
});
