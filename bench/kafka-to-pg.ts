/**
 * Kafka (Debezium) → PostgreSQL benchmark (issue 3, "Performance").
 *
 *   npm run bench:kafka -- [--quick] [--events 100000] [--partitions 4] [--rows 10000] [--timeout 600]
 *                          [--jdbc-batches 500,5000] [--skip-jdbc] [--out FILE]
 *
 * Needs the development servers with Kafka (`bash scripts/services.sh start`);
 * .tandem/services/env is read when the TANDEM_TEST_* variables are unset.
 * In one run:
 *   0. a topic with P partitions is pre-filled with N Debezium PostgreSQL
 *      events (the captured update envelope of test/kafka/captured as the
 *      template; keys and values varied; each row inserted, then updated)
 *   (a) raw: a kafkajs consumer (own group) reads the topic with no
 *      processing — the ceiling; the clock runs from run() to the N-th message
 *   (b) end to end: startPipeline (source via `debezium`, PostgreSQL target,
 *      Redis dedup) from the same topic; the clock runs from startPipeline to
 *      the moment the target holds every row's final value
 *   (c) the peer: Debezium's JDBC sink connector in the Kafka Connect worker
 *      (TANDEM_TEST_KAFKA_CONNECT_URL, which must read the same broker), same
 *      topic, a fresh target table of the same shape, upsert keyed by the
 *      record key, once per batch size (its default 500 and a larger one);
 *      the clock runs from creating the connector to the same condition
 * Prints both rates and their ratio; writes JSON to bench/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config';
import { createKafkaSource } from '../src/capture';
import { createLogger } from '../src/log';
import { startPipeline, type RunningPipeline } from '../src/pipeline';
import { createTopic, CUSTOMER_DDL, deleteGroups, deleteTopics, kafka, kafkaConfig, query } from '../test/kafka/pipeline-support';
import { createPgDatabase, type TestDatabase } from '../test/support/pg';
import { flushPrefix, redisPrefix } from '../test/support/redis';
import { uniqueName } from '../test/support/names';
import { assertJdbcSinkRunning, createJdbcSink, deleteJdbcSink, requireJdbcSinkPlugin } from './support/jdbc-sink';
import { loadServicesEnv, prefillTopic } from './support/kafka-workload';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    events: { type: 'string' },
    partitions: { type: 'string', default: '4' },
    rows: { type: 'string', default: '10000' },
    timeout: { type: 'string', default: '600' },
    'jdbc-batches': { type: 'string', default: '500,5000' },
    'skip-jdbc': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const N = Number(args.events ?? (args.quick ? '30000' : '100000'));
const JDBC_BATCHES = args['skip-jdbc'] ? [] : args['jdbc-batches'].split(',').map((b) => Number(b.trim()));
const PARTITIONS = Number(args.partitions);
const ROWS = Math.min(Number(args.rows), N);
const TIMEOUT_MS = Number(args.timeout) * 1000;


function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: start the servers with bash scripts/services.sh start`);
  return v;
}

/** Event `seq` touches row (seq % ROWS) + 1: its first event inserts, later ones update. */


async function rawConsume(brokers: string[], topic: string, groupId: string): Promise<{ ms: number; bytes: number }> {
  const consumer = kafka(brokers).consumer({ groupId, maxBytesPerPartition: 16 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let count = 0;
  let bytes = 0;
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`raw consumer read ${count}/${N} in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    void consumer.run({
      partitionsConsumedConcurrently: PARTITIONS,
      eachBatch: async ({ batch }) => {
        count += batch.messages.length;
        for (const m of batch.messages) bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
        if (count >= N) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  const ms = Date.now() - started;
  await consumer.disconnect();
  return { ms, bytes };
}

/** (a2) The Kafka source alone (kafkajs + Debezium decoding + hand-off), every batch acknowledged (committed) at once. */
async function sourceOnly(brokers: string[], prefix: string, topic: string, groupId: string): Promise<{ ms: number; batches: number }> {
  const source = createKafkaSource({
    system: 'src', connection: { brokers, clientId: 'bench', ssl: false }, groupId, topics: [topic], tables: ['public.customer'],
    partitionsConsumedConcurrently: PARTITIONS,
  });
  const started = Date.now();
  let events = 0;
  let batches = 0;
  for await (const batch of source.batches()) {
    events += batch.events.length;
    batches++;
    await source.acknowledge(batch.position);
    if (events >= N) break;
    if (Date.now() - started > TIMEOUT_MS) throw new Error(`source only: ${events}/${N}`);
  }
  const ms = Date.now() - started;
  await source.stop();
  void prefix;
  return { ms, batches };
}

/** Rows of the target holding their final value: the last event of row id is seq = N-1 - ((N-1 - (id-1)) % ROWS). */
async function rowsAtFinal(url: string): Promise<number> {
  const [row] = await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM customer WHERE name = 'c' || id || '-v' || (${N - 1} - ((${N - 1} - (id - 1)) % ${ROWS}))`);
  return row!.n;
}

async function endToEnd(brokers: string[], prefix: string, groupId: string, state: TestDatabase, dst: TestDatabase, keyPrefix: string): Promise<Finished & { resolvedMs: number | null; pipeline: RunningPipeline }> {
  const env = { K_STATE_URL: state.url, K_SRC_URL: state.url, K_DST_URL: dst.url, K_REDIS_URL: need('TANDEM_TEST_REDIS_URL') };
  const text = kafkaConfig({ brokers, groupId, topicPrefix: prefix, schema: 'tandem_bench', redisPrefix: keyPrefix, extraKafka: `  partitionsConsumedConcurrently: ${PARTITIONS}` });
  const started = Date.now();
  const pipeline = await startPipeline(parseConfig(text, '/virtual/bench-kafka.yaml', env), { env, logger: createLogger('warn'), instanceId: 'bench-kafka' });
  let resolvedMs: number | null = null;
  const done = await untilFinal('e2e', dst.url, started, async () => {
    if (resolvedMs === null && pipeline.stats().events.resolved >= N) resolvedMs = Date.now() - started;
  });
  return { ...done, resolvedMs, pipeline };
}

interface Finished {
  /** ms from `started` until every row held its final value. */
  ms: number;
  /** ms from `started` until the first row was on the target (start-up, group join, first fetch). */
  firstRowMs: number | null;
  /** Events/s from the first row on the target to the last: the rate once running. */
  runningEventsPerSecond: number | null;
}

/** Polls the target every 200 ms until every row holds its final value. */
async function untilFinal(label: string, url: string, started: number, each: () => Promise<void> = async () => {}): Promise<Finished> {
  let last = -1;
  let firstRowMs: number | null = null;
  for (;;) {
    await each();
    if (firstRowMs === null) {
      const [row] = await query<{ n: number }>(url, 'SELECT count(*)::int AS n FROM customer');
      if (row!.n > 0) firstRowMs = Date.now() - started;
    }
    const n = await rowsAtFinal(url);
    if (n === ROWS) {
      const ms = Date.now() - started;
      const running = firstRowMs !== null && ms > firstRowMs ? Math.round(N / ((ms - firstRowMs) / 1000)) : null;
      return { ms, firstRowMs, runningEventsPerSecond: running };
    }
    if (Date.now() - started > TIMEOUT_MS) throw new Error(`${label}: ${n}/${ROWS} rows at their final value after ${TIMEOUT_MS} ms`);
    if (n !== last) process.stdout.write(`  ${label}: ${n}/${ROWS} rows final after ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    last = n;
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface JdbcSinkResult extends Finished {
  batchSize: number;
  tasks: number;
  /** N over the whole time from creating the connector. */
  eventsPerSecond: number;
}

/** (c) Debezium's JDBC sink into a fresh target database; the connector and its consumer group are removed afterwards. */
async function jdbcSink(brokers: string[], topic: string, batchSize: number): Promise<JdbcSinkResult> {
  const connectUrl = need('TANDEM_TEST_KAFKA_CONNECT_URL');
  const dst = await createPgDatabase('bench_k_jdbc');
  const name = uniqueName('bench_jdbc');
  try {
    await query(dst.url, CUSTOMER_DDL.replace(/CREATE TRIGGER[^;]*;/, ''));
    const started = Date.now();
    await createJdbcSink({ connectUrl, name, topic, targetUrl: dst.url, table: 'customer', tasks: PARTITIONS, batchSize });
    const done = await untilFinal(`jdbc sink (batch ${batchSize})`, dst.url, started, () => assertJdbcSinkRunning(connectUrl, name));
    return { batchSize, tasks: PARTITIONS, ...done, eventsPerSecond: Math.round(N / (done.ms / 1000)) };
  } finally {
    await deleteJdbcSink(connectUrl, name).catch(() => {});
    await deleteGroups(brokers, [`connect-${name}`]).catch(() => {});
    await dst.drop().catch(() => {});
  }
}

async function main(): Promise<void> {
  loadServicesEnv();
  const brokers = need('TANDEM_TEST_KAFKA_BROKERS').split(',');
  need('TANDEM_TEST_PG_URL');
  const prefix = uniqueName('bench');
  const topic = `${prefix}.public.customer`;
  const rawGroup = uniqueName('bench_raw');
  const e2eGroup = uniqueName('bench_e2e');
  const keyPrefix = redisPrefix('bench-kafka');
  const dbs: TestDatabase[] = [];
  let pipeline: RunningPipeline | undefined;
  try {
    if (JDBC_BATCHES.length > 0) await requireJdbcSinkPlugin(need('TANDEM_TEST_KAFKA_CONNECT_URL'));
    await createTopic(brokers, topic, PARTITIONS);
    const prefillMs = await prefillTopic(brokers, prefix, topic, N, ROWS);
    console.log(`pre-filled ${topic}: ${N} events, ${PARTITIONS} partitions, ${ROWS} rows, in ${(prefillMs / 1000).toFixed(1)} s`);
    const raw = await rawConsume(brokers, topic, rawGroup);
    const rawRate = N / (raw.ms / 1000);
    console.log(`(a) raw kafkajs consume: ${N} events in ${(raw.ms / 1000).toFixed(2)} s = ${Math.round(rawRate)} events/s (${(raw.bytes / 1e6).toFixed(0)} MB)`);
    const src = await sourceOnly(brokers, prefix, topic, uniqueName('bench_src'));
    const srcRate = N / (src.ms / 1000);
    console.log(`(a2) Kafka source alone (decode + hand-off + commit): ${(src.ms / 1000).toFixed(2)} s = ${Math.round(srcRate)} events/s in ${src.batches} batches`);
    const [state, dst] = await Promise.all([createPgDatabase('bench_k_state'), createPgDatabase('bench_k_dst')]);
    dbs.push(state, dst);
    await query(dst.url, CUSTOMER_DDL.replace(/CREATE TRIGGER[^;]*;/, ''));
    const e2e = await endToEnd(brokers, prefix, e2eGroup, state, dst, keyPrefix);
    pipeline = e2e.pipeline;
    const e2eRate = N / (e2e.ms / 1000);
    const stats = pipeline.stats();
    console.log(`(b) end to end Kafka → PostgreSQL: ${N} events in ${(e2e.ms / 1000).toFixed(2)} s = ${Math.round(e2eRate)} events/s ` +
      `(first row after ${e2e.firstRowMs === null ? '?' : (e2e.firstRowMs / 1000).toFixed(1)} s, then ${e2e.runningEventsPerSecond ?? '?'} events/s)`);
    if (e2e.resolvedMs !== null) console.log(`    of which: all ${N} events resolved after ${(e2e.resolvedMs / 1000).toFixed(2)} s (${Math.round(N / (e2e.resolvedMs / 1000))} events/s); the rest is apply`);
    console.log(`ratio end-to-end / raw: ${(e2eRate / rawRate).toFixed(3)}   (goal: ≥ 20000 events/s and ≥ 0.5)`);
    await pipeline.stop();
    pipeline = undefined;
    const jdbc: JdbcSinkResult[] = [];
    for (const batchSize of JDBC_BATCHES) {
      const run = await jdbcSink(brokers, topic, batchSize);
      jdbc.push(run);
      console.log(`(c) Debezium JDBC sink, batch.size ${batchSize}, ${run.tasks} tasks: ${N} events in ${(run.ms / 1000).toFixed(2)} s = ${run.eventsPerSecond} events/s ` +
        `(first row after ${run.firstRowMs === null ? '?' : (run.firstRowMs / 1000).toFixed(1)} s, then ${run.runningEventsPerSecond ?? '?'} events/s); tandem = ${(e2eRate / run.eventsPerSecond).toFixed(2)}× of it (goal ≥ 5×)`);
    }
    const result = {
      bench: 'kafka-to-pg', at: new Date().toISOString(), events: N, partitions: PARTITIONS, rows: ROWS, cpus: cpus().length,
      prefillMs, raw: { ms: raw.ms, eventsPerSecond: Math.round(rawRate), bytes: raw.bytes },
      sourceOnly: { ms: src.ms, eventsPerSecond: Math.round(srcRate), batches: src.batches },
      endToEnd: { ms: e2e.ms, eventsPerSecond: Math.round(e2eRate), resolvedMs: e2e.resolvedMs, firstRowMs: e2e.firstRowMs, runningEventsPerSecond: e2e.runningEventsPerSecond }, ratio: Number((e2eRate / rawRate).toFixed(3)), pipelineStats: stats,
      jdbcSink: jdbc,
    };
    mkdirSync('bench/results', { recursive: true });
    const out = args.out ?? `bench/results/kafka-to-pg-${result.at.replace(/[:.]/g, '-').slice(0, 19)}.json`;
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${out}`);
  } finally {
    await pipeline?.stop().catch(() => {});
    await Promise.all(dbs.map((d) => d.drop().catch(() => {})));
    await deleteTopics(brokers, [topic]).catch(() => {});
    await deleteGroups(brokers, [rawGroup, `${e2eGroup}.src`]).catch(() => {});
    await flushPrefix(need('TANDEM_TEST_REDIS_URL'), keyPrefix).catch(() => {});
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
