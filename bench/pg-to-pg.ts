/**
 * PostgreSQL → PostgreSQL benchmark (issues 2 and 10, "Performance").
 *
 *   npm run bench:pg                                   # full: about 15–30 minutes on the 2-core machine
 *   npm run bench:pg -- --quick                        # a few minutes
 *   npm run bench:pg -- --events 100000 --rates 1000   # options: see USAGE below
 * (`npm run bench` runs this and bench/kafka-to-pg.ts and writes bench/results/latest.json.)
 *
 * Needs the development servers (`npm run services:start`); their env file
 * (.tandem/services/env) is read when TANDEM_TEST_PG_URL / TANDEM_TEST_REDIS_URL
 * are not set. Every database, slot, subscription and Redis key it makes is
 * removed at the end, also on failure or Ctrl-C. Not part of `npm test`.
 *
 * The state store runs on a private embedded PostgreSQL of the bench's own
 * (bench/support/state-server.ts) so that its WAL is measured alone; source and
 * target are databases of the shared server.
 *
 * Phases, all in one process:
 *   1. ceiling     N changes written first, then read back with createPostgresSource
 *                  (snapshot never, heartbeats off, every batch acknowledged at once)
 *   2. native      the peer: PostgreSQL's own logical replication (CREATE SUBSCRIPTION
 *                  between two databases of the shared server) applying N changes
 *                  written while it was disabled, timed from first to last change applied
 *   3. latency     startPipeline src → dst, initial snapshot drained, then changes at each
 *                  fixed rate (--rates) in small transactions; a trigger on dst records, per
 *                  applied row, clock_timestamp() − updated_at (the source transaction's now())
 *   4. throughput  N changes written as fast as possible; the clock stops when dst holds the
 *                  final state of every row (Δ sum(qty) on dst counts changes applied); the
 *                  state store's WAL bytes and row writes over the phase, per change
 *   5. backlog     pipeline stopped, B changes written, pipeline restarted: drain time, peak RSS
 *   6. throughput again without Redis (pipeline.allowNoRedis, dedup in the state store)
 * Workload: transactions of --tx-rows changes, 30 % inserts of new rows and 70 %
 * updates of existing ones. A phase whose target has not caught up within its
 * budget stops waiting and reports the rate reached so far, marked INCOMPLETE.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Session } from 'node:inspector/promises';
import pg from 'pg';
import Redis from 'ioredis';
import { createPostgresSource } from '../src/capture';
import { loadConfig } from '../src/config';
import { createLogger, type Logger } from '../src/log';
import { startPipeline, type RunningPipeline } from '../src/pipeline';
import { createPgDatabase, type TestDatabase } from '../test/support/pg';
import { flushPrefix, redisPrefix } from '../test/support/redis';
import { uniqueName } from '../test/support/names';
import { startStateServer, type StateServer } from './support/state-server';
import { postmasterPid, startCpuMeter } from './support/process-cpu';
import { describeStateCost, startStateCost, type StateCost as StateWalDetail } from './state-cost';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `usage: npm run bench:pg -- [options]     (npm run bench runs this and bench/kafka-to-pg.ts)
  --quick              smaller figures for a run of a few minutes (the defaults in brackets below)
  --events N           row changes in the ceiling, native and throughput phases (default 100000 [30000])
  --rates R1,R2        changes/s of the latency phases (default 1000,5000)
  --latency-seconds S  length of each latency phase (default 20 [10])
  --latency-tx R       rows per transaction in the latency phases (default 50)
  --tx-rows R          rows per transaction in the other phases (default 100: 30 inserts + 70 updates)
  --seed-rows R        rows in the source before the pipeline starts (default 2000)
  --backlog B          changes written while the pipeline is stopped (default 1000000 [50000]; 0 skips)
  --backlog-seconds S  stop waiting for the backlog to drain after S s (default 1800 [240])
  --skip-native        skip PostgreSQL's own logical replication (the peer)
  --skip-no-redis      skip the throughput run without Redis (always skipped with --quick)
  --shared-state       keep the state store on the shared test server (default: a private embedded
                       PostgreSQL of its own, so that its WAL can be measured alone)
  --profile            CPU-profile the throughput phase (writes bench/results/*.cpuprofile, prints the top functions)
  --phase-seconds S    stop waiting for the target after S s in the throughput and latency phases
                       and report the rate reached so far, marked incomplete (default 300 [120])
  --timeout S          give up on snapshot drains and catch-up waits after S seconds (default 300)
  --out FILE           JSON result file (default bench/results/pg-to-pg-<date>.json)`;

// ---------------------------------------------------------------------------
// options and environment
// ---------------------------------------------------------------------------

const { values: argv } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    events: { type: 'string' },
    rates: { type: 'string', default: '1000,5000' },
    'latency-seconds': { type: 'string' },
    'latency-tx': { type: 'string', default: '50' },
    'tx-rows': { type: 'string', default: '100' },
    'seed-rows': { type: 'string', default: '2000' },
    backlog: { type: 'string' },
    'backlog-seconds': { type: 'string' },
    'skip-native': { type: 'boolean', default: false },
    'skip-no-redis': { type: 'boolean', default: false },
    'shared-state': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '300' },
    'phase-seconds': { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (argv.help) {
  console.log(USAGE);
  process.exit(0);
}
const int = (name: string, value: string | undefined, min = 0): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer ≥ ${min}\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
/** Full-run defaults, and the smaller ones of --quick. */
const DEFAULTS = argv.quick
  ? { events: '30000', latencySeconds: '10', backlog: '50000', backlogSeconds: '240', phaseSeconds: '120' }
  : { events: '100000', latencySeconds: '20', backlog: '1000000', backlogSeconds: '1800', phaseSeconds: '300' };
const opts = {
  quick: argv.quick,
  events: int('events', argv.events ?? DEFAULTS.events, 1),
  rates: argv.rates.split(',').map((r) => int('rates', r.trim(), 1)),
  latencySeconds: int('latency-seconds', argv['latency-seconds'] ?? DEFAULTS.latencySeconds, 0),
  latencyTx: int('latency-tx', argv['latency-tx'], 1),
  txRows: int('tx-rows', argv['tx-rows'], 2),
  seedRows: int('seed-rows', argv['seed-rows'], 1),
  backlog: int('backlog', argv.backlog ?? DEFAULTS.backlog, 0),
  backlogMs: int('backlog-seconds', argv['backlog-seconds'] ?? DEFAULTS.backlogSeconds, 1) * 1000,
  native: !argv['skip-native'],
  noRedisRun: !argv['skip-no-redis'] && !argv.quick,
  privateState: !argv['shared-state'],
  profile: argv.profile,
  timeoutMs: int('timeout', argv.timeout, 1) * 1000,
  phaseMs: int('phase-seconds', argv['phase-seconds'] ?? DEFAULTS.phaseSeconds, 1) * 1000,
};

function servicesEnv(): Record<string, string> {
  const file = join(ROOT, '.tandem', 'services', 'env');
  const env: Record<string, string> = {};
  if (!existsSync(file)) return env;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!.trim().replace(/^(['"])(.*)\1$/, '$2');
  }
  return env;
}
const fileEnv = servicesEnv();
const PG_URL = process.env.TANDEM_TEST_PG_URL || fileEnv.TANDEM_TEST_PG_URL;
const REDIS_URL = process.env.TANDEM_TEST_REDIS_URL || fileEnv.TANDEM_TEST_REDIS_URL;
if (!PG_URL) {
  console.error('TANDEM_TEST_PG_URL is not set and .tandem/services/env is missing: run `npm run services:start` first.');
  process.exit(2);
}

// ---------------------------------------------------------------------------
// clean-up on every exit path
// ---------------------------------------------------------------------------

const cleanups: Array<() => Promise<unknown>> = [];
let cleaningUp: Promise<void> | null = null;
function cleanup(): Promise<void> {
  return (cleaningUp ??= (async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (error) {
        console.error(`clean-up step failed: ${(error as Error).message}`);
      }
    }
  })());
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function newDatabase(prefix: string): Promise<TestDatabase> {
  const db = await createPgDatabase(prefix, PG_URL);
  cleanups.push(() => db.drop());
  return db;
}

/** The private state server (started once, on first use; see bench/support/state-server.ts). */
let stateServer: Promise<StateServer> | null = null;
function privateStateServer(): Promise<StateServer> {
  return (stateServer ??= startStateServer().then((server) => {
    cleanups.push(() => server.destroy());
    return server;
  }));
}

/** The state store's database: on the private server (default) or, with --shared-state, on the shared one. */
async function newStateDatabase(): Promise<TestDatabase> {
  if (!opts.privateState) return newDatabase('bench_state');
  const server = await privateStateServer();
  const name = uniqueName('bench_state');
  const url = await server.createDatabase(name);
  return { url, name, drop: async () => {} };
}

// ---------------------------------------------------------------------------
// small helpers
// ---------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const round = (n: number, digits = 0) => Math.round(n * 10 ** digits) / 10 ** digits;

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

async function sql(url: string, ...statements: string[]): Promise<void> {
  const client = await connect(url);
  try {
    for (const s of statements) await client.query(s);
  } finally {
    await client.end();
  }
}

/** RSS sampled every 100 ms for the whole run; windows read the peak over a stretch of it. */
class RssSampler {
  private timer: NodeJS.Timeout;
  private windows = new Map<string, number>();
  constructor() {
    this.timer = setInterval(() => this.sample(), 100);
    this.timer.unref();
  }
  sample(): number {
    const rss = process.memoryUsage().rss;
    for (const [name, peak] of this.windows) if (rss > peak) this.windows.set(name, rss);
    return rss;
  }
  open(name: string): void {
    this.windows.set(name, this.sample());
  }
  close(name: string): number {
    this.sample();
    const peak = this.windows.get(name) ?? 0;
    this.windows.delete(name);
    return round(peak / 1024 / 1024, 1);
  }
  stop(): void {
    clearInterval(this.timer);
  }
}
const rss = new RssSampler();

const TABLE_DDL = `CREATE TABLE items (
  id bigint PRIMARY KEY, sku text NOT NULL, qty integer NOT NULL, price numeric(12,4) NOT NULL,
  updated_at timestamptz NOT NULL, note text)`;

/** Cheap aggregate polled on the target: equal to the source's only once every change is applied (qty only grows). */
const CHECKSUM = `SELECT count(*)::text AS n, coalesce(sum(qty), 0)::text AS q, coalesce(sum(price), 0)::text AS p,
  coalesce(sum(hashtext(coalesce(note, ''))::bigint), 0)::text AS h FROM items`;
/** Full comparison at the end of a phase: every column of every row. */
const DIGEST = `SELECT count(*)::text AS n, md5(coalesce(string_agg(id || '|' || sku || '|' || qty || '|' || price || '|' ||
  (extract(epoch FROM updated_at) * 1000000)::bigint || '|' || coalesce(note, '∅'), ',' ORDER BY id), '')) AS d FROM items`;

async function checksum(client: pg.Client, query = CHECKSUM): Promise<string> {
  const { rows } = await client.query(query);
  return JSON.stringify(rows[0]);
}

// ---------------------------------------------------------------------------
// load generation
// ---------------------------------------------------------------------------

/**
 * Writes row changes to `items`: per transaction ~30 % inserts of new ids and
 * ~70 % updates of a contiguous run of existing ids (qty + 1, new price, note,
 * updated_at = now()), each as one multi-row statement. `nextId` is the first
 * id not yet inserted; the generator advances it.
 */
class Workload {
  private cursor = 1;
  constructor(public nextId: number) {}

  /** SQL of one transaction with `rows` changes. */
  transaction(rows: number): string {
    const inserts = Math.max(rows > 1 ? 1 : 0, Math.round(rows * 0.3));
    const updates = rows - inserts;
    const parts = ['BEGIN'];
    if (inserts > 0) {
      const from = this.nextId;
      const to = from + inserts - 1;
      this.nextId = to + 1;
      parts.push(`INSERT INTO items (id, sku, qty, price, updated_at, note)
        SELECT g, 'SKU-' || lpad(g::text, 8, '0'), 1, round((g % 9973) * 0.0731, 4), now(), 'created ' || g
          FROM generate_series(${from}, ${to}) g`);
    }
    if (updates > 0) {
      const existing = this.nextId - 1;
      if (this.cursor + updates - 1 > existing) this.cursor = 1;
      const from = this.cursor;
      const to = Math.min(existing, from + updates - 1);
      this.cursor = to + 1;
      parts.push(`UPDATE items SET qty = qty + 1, price = price + 0.0001, updated_at = now(),
        note = 'v' || (qty + 1) || ' of ' || id WHERE id BETWEEN ${from} AND ${to}`);
    }
    parts.push('COMMIT');
    return parts.join(';\n');
  }

  /** Rows one `transaction(rows)` call changes (updates can be fewer when the table is small). */
  static rowsOf(rows: number, existing: number): number {
    const inserts = Math.max(rows > 1 ? 1 : 0, Math.round(rows * 0.3));
    return inserts + Math.min(rows - inserts, existing + inserts);
  }
}

async function seed(url: string, rows: number): Promise<Workload> {
  await sql(url, `INSERT INTO items (id, sku, qty, price, updated_at, note)
    SELECT g, 'SKU-' || lpad(g::text, 8, '0'), 1, round((g % 9973) * 0.0731, 4), now(), 'seeded ' || g
      FROM generate_series(1, ${rows}) g`, 'ANALYZE items');
  return new Workload(rows + 1);
}

/** Writes `total` changes as fast as one connection can, in transactions of `txRows`. Returns seconds taken. */
async function generateFast(url: string, work: Workload, total: number, txRows: number): Promise<number> {
  const client = await connect(url);
  const started = performance.now();
  try {
    for (let left = total; left > 0; ) {
      const rows = Math.min(txRows, left);
      const sqlText = work.transaction(rows);
      left -= rows;
      await client.query(sqlText);
    }
  } finally {
    await client.end();
  }
  return (performance.now() - started) / 1000;
}

/**
 * Writes `rate` changes/s for `seconds`, one transaction of `txRows` every
 * txRows/rate seconds, on a schedule that does not drift (a late tick is sent
 * at once). Up to 4 transactions are in flight on a small pool so a slow
 * commit does not hold back the schedule.
 */
async function generateAtRate(url: string, work: Workload, rate: number, seconds: number, txRows: number): Promise<{ rows: number; seconds: number; lateTicks: number }> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const intervalMs = (txRows / rate) * 1000;
  const ticks = Math.max(1, Math.round((seconds * 1000) / intervalMs));
  const started = performance.now();
  let rows = 0;
  let lateTicks = 0;
  const inFlight = new Set<Promise<unknown>>();
  try {
    for (let i = 0; i < ticks; i++) {
      const due = started + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      else if (wait < -intervalMs) lateTicks++;
      while (inFlight.size >= 4) await Promise.race(inFlight);
      const p = pool.query(work.transaction(txRows)).then(() => {
        rows += txRows;
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    await Promise.all(inFlight);
  } finally {
    await pool.end();
  }
  return { rows, seconds: (performance.now() - started) / 1000, lateTicks };
}

// ---------------------------------------------------------------------------
// phase 1: the raw decode ceiling
// ---------------------------------------------------------------------------

interface CeilingResult {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  batches: number;
  walBytes: number;
  generateSeconds: number;
}

async function ceiling(): Promise<CeilingResult> {
  log(`ceiling: writing ${opts.events} changes, then decoding them with createPostgresSource`);
  const db = await newDatabase('bench_ceiling');
  const slot = uniqueName('bench_ceil');
  await sql(db.url, TABLE_DDL, 'ALTER TABLE items REPLICA IDENTITY FULL');
  const work = await seed(db.url, opts.seedRows);
  await sql(db.url, `CREATE PUBLICATION bench_pub FOR TABLE public.items`, `SELECT pg_create_logical_replication_slot('${slot}', 'pgoutput')`);
  const admin = await connect(db.url);
  const lsnBefore = (await admin.query(`SELECT pg_current_wal_lsn()::text AS l`)).rows[0].l as string;
  const generateSeconds = await generateFast(db.url, work, opts.events, opts.txRows);
  const walBytes = Number((await admin.query(`SELECT (pg_current_wal_lsn() - $1::pg_lsn)::text AS b`, [lsnBefore])).rows[0].b);
  await admin.end();

  const source = createPostgresSource({
    system: 'src', connectionString: db.url, slot, publication: 'bench_pub', tables: ['public.items'],
    heartbeatMs: 0, statusIntervalMs: 5_000, snapshot: 'never', maxBatchEvents: 2_000, maxBatchDelayMs: 50,
    snapshotted: new Set(),
  });
  let events = 0;
  let batches = 0;
  const started = performance.now();
  const deadline = Date.now() + opts.timeoutMs;
  const timer = setInterval(() => {
    if (Date.now() > deadline) void source.stop();
  }, 500);
  try {
    for await (const batch of source.batches()) {
      events += batch.events.length;
      batches++;
      await source.acknowledge(batch.position);
      if (events >= opts.events) break;
    }
  } finally {
    clearInterval(timer);
    await source.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  if (events < opts.events) throw new Error(`ceiling: only ${events} of ${opts.events} events read before the timeout`);
  await db.drop();
  const result = { events, seconds: round(seconds, 3), eventsPerSecond: round(events / seconds), batches, walBytes, generateSeconds: round(generateSeconds, 2) };
  log(`ceiling: ${result.eventsPerSecond} events/s (${events} events in ${result.seconds} s, ${batches} batches)`);
  return result;
}


// ---------------------------------------------------------------------------
// the peer: PostgreSQL's own logical replication
// ---------------------------------------------------------------------------

interface NativeResult {
  events: number;
  complete: boolean;
  applied: number;
  /** Changes applied between the first and the last one observed on the target, over that time. */
  eventsPerSecond: number;
  firstToLastSeconds: number;
  /** From ALTER SUBSCRIPTION … ENABLE to the last change applied (includes the apply worker's start). */
  enableToLastSeconds: number;
  enableToLastEventsPerSecond: number;
  generateSeconds: number;
  verified: boolean | null;
}

/** A libpq connection string to database `name` of the shared server, for CREATE SUBSCRIPTION. */
function conninfo(name: string): string {
  const u = new URL(PG_URL!);
  const q = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return [`host=${q(u.hostname)}`, `port=${q(u.port || '5432')}`, `dbname=${q(name)}`, `user=${q(decodeURIComponent(u.username))}`,
    `password=${q(decodeURIComponent(u.password))}`].join(' ');
}

/**
 * CREATE SUBSCRIPTION between two databases of the same server, the same
 * table and workload: the slot is created first and the subscription made with
 * create_slot = false (creating a slot on the server the command runs on would
 * wait for itself), copy_data = false (the seed rows are copied beforehand) and
 * disabled. The N changes are written while it is disabled, then it is
 * enabled: the clock runs from the first to the last change applied (the
 * target polled every 10 ms).
 */
async function nativeSubscription(): Promise<NativeResult> {
  log(`native: CREATE SUBSCRIPTION, ${opts.events} changes written first, then applied`);
  const src = await newDatabase('bench_nsrc');
  const dst = await newDatabase('bench_ndst');
  const slot = uniqueName('bench_native');
  await sql(src.url, TABLE_DDL, 'ALTER TABLE items REPLICA IDENTITY FULL');
  await sql(dst.url, TABLE_DDL);
  const work = await seed(src.url, opts.seedRows);
  const from = await connect(src.url);
  const seedRows = (await from.query(`SELECT coalesce(json_agg(items), '[]')::text AS j FROM items`)).rows[0].j as string;
  await from.end();
  await sql(dst.url, `INSERT INTO items SELECT * FROM json_populate_recordset(NULL::items, '${seedRows.replace(/'/g, "''")}')`, 'ANALYZE items');
  await sql(src.url, `CREATE PUBLICATION bench_native_pub FOR TABLE public.items`, `SELECT pg_create_logical_replication_slot('${slot}', 'pgoutput')`);
  await sql(dst.url, `CREATE SUBSCRIPTION bench_native_sub CONNECTION '${conninfo(src.name).replace(/'/g, "''")}' PUBLICATION bench_native_pub
    WITH (create_slot = false, slot_name = '${slot}', copy_data = false, enabled = false)`);
  // The subscription goes before its database (a database with a subscription cannot be dropped); the slot goes with the source.
  cleanups.push(() => sql(dst.url, 'ALTER SUBSCRIPTION bench_native_sub DISABLE', 'ALTER SUBSCRIPTION bench_native_sub SET (slot_name = NONE)', 'DROP SUBSCRIPTION bench_native_sub'));
  const fromSum = await sumQty(dst.url);
  const generateSeconds = await generateFast(src.url, work, opts.events, opts.txRows);
  const source = await connect(src.url);
  const target = await connect(dst.url);
  try {
    const wantSum = Number((await source.query(SUM_QTY)).rows[0].q);
    const want = await checksum(source);
    const deadline = Date.now() + opts.phaseMs;
    await target.query('ALTER SUBSCRIPTION bench_native_sub ENABLE');
    const enabledAt = performance.now();
    let first: { at: number; applied: number } | null = null;
    let last = { at: enabledAt, applied: 0, complete: false };
    for (;;) {
      const have = Number((await target.query(SUM_QTY)).rows[0].q) - fromSum;
      const now = performance.now();
      if (have > 0 && first === null) first = { at: now, applied: have };
      last = { at: now, applied: have, complete: have >= wantSum - fromSum && (await checksum(target)) === want };
      if (last.complete || Date.now() > deadline) break;
      await sleep(10);
    }
    await target.query('ALTER SUBSCRIPTION bench_native_sub DISABLE');
    const firstToLast = first ? (last.at - first.at) / 1000 : 0;
    const enableToLast = (last.at - enabledAt) / 1000;
    const verified = last.complete ? (await verifyDigest({ src, dst })).equal : null;
    const result: NativeResult = {
      events: opts.events, complete: last.complete, applied: last.applied,
      eventsPerSecond: first && firstToLast > 0 ? round((last.applied - first.applied) / firstToLast) : 0,
      firstToLastSeconds: round(firstToLast, 3), enableToLastSeconds: round(enableToLast, 3), enableToLastEventsPerSecond: round(last.applied / enableToLast),
      generateSeconds: round(generateSeconds, 2), verified,
    };
    log(`native: ${result.eventsPerSecond} events/s first to last change applied (${result.applied} of ${opts.events} in ${result.firstToLastSeconds} s; ` +
      `${result.enableToLastEventsPerSecond}/s from ENABLE, ${result.enableToLastSeconds} s)${last.complete ? '' : ' INCOMPLETE'}; rows identical: ${verified ?? 'not checked'}`);
    return result;
  } finally {
    await Promise.all([source.end(), target.end()]);
  }
}

// ---------------------------------------------------------------------------
// the pipeline set-up
// ---------------------------------------------------------------------------

interface Setup {
  src: TestDatabase;
  dst: TestDatabase;
  state: TestDatabase;
  configFile: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  logFile: string;
  work: Workload;
  redisPrefix: string | null;
}

function configYaml(slot: string, prefix: string | null): string {
  const item = (system: string) => `  - system: ${system}
    table: public.items
    entity: item
    key: { columns: [id], generated: none }
    fields:
      id: id
      sku: sku
      qty: qty
      price: { column: price, convert: [{ decimal: { scale: 4 } }] }
      updated_at: updated_at
      note: note`;
  return `# written by bench/pg-to-pg.ts
stateStore:
  url: { env: BENCH_STATE_URL }
  schema: tandem
${prefix ? `redis:\n  url: { env: BENCH_REDIS_URL }\n  keyPrefix: "${prefix}"\n` : ''}systems:
  src:
    type: postgres
    url: { env: BENCH_SRC_URL }
    capture:
      slot: ${slot}
      publication: bench_pub
      heartbeatMs: 0
      snapshot: initial
  dst:
    type: postgres
    url: { env: BENCH_DST_URL }
entities:
  item:
    owner: src
mappings:
${item('src')}
${item('dst')}
pipeline:
  allowNoRedis: ${prefix ? 'false' : 'true'}
log:
  level: warn
`;
}

async function setUp(tmp: string, withRedis: boolean): Promise<Setup> {
  const tag = withRedis ? 'redis' : 'noredis';
  const [src, dst, state] = [await newDatabase(`bench_src`), await newDatabase(`bench_dst`), await newStateDatabase()];
  await sql(src.url, TABLE_DDL, 'ALTER TABLE items REPLICA IDENTITY FULL');
  await sql(dst.url, TABLE_DDL);
  const work = await seed(src.url, opts.seedRows);
  let prefix: string | null = null;
  if (withRedis) {
    if (!REDIS_URL) throw new Error('TANDEM_TEST_REDIS_URL is not set');
    prefix = redisPrefix('tandem-bench');
    const p = prefix;
    cleanups.push(() => flushPrefix(REDIS_URL, p));
  }
  const configFile = join(tmp, `pg-to-pg-${tag}.yaml`);
  writeFileSync(configFile, configYaml(uniqueName('bench_slot'), prefix));
  const env = { ...process.env, BENCH_SRC_URL: src.url, BENCH_DST_URL: dst.url, BENCH_STATE_URL: state.url, BENCH_REDIS_URL: REDIS_URL ?? '' };
  const logFile = join(tmp, `pipeline-${tag}.log`);
  return { src, dst, state, configFile, env, logger: createLogger('warn', { file: logFile }), logFile, work, redisPrefix: prefix };
}

/** pipeline.stop(), bounded: a stop that hangs is reported (and the databases are dropped anyway at clean-up). */
const stopIssues: string[] = [];
async function stopWithin(pipeline: RunningPipeline, label: string, ms = 30_000): Promise<void> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([
    pipeline.stop().then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
  ]).finally(() => clearTimeout(timer));
  const s = round((performance.now() - started) / 1000, 1);
  if (!stopped) {
    stopIssues.push(`${label}: pipeline.stop() had not returned after ${s} s; went on without it`);
    log(`${label}: pipeline.stop() had not returned after ${s} s; going on (clean-up drops the databases)`);
  } else if (s > 5) stopIssues.push(`${label}: pipeline.stop() took ${s} s`);
}

async function start(setup: Setup): Promise<RunningPipeline> {
  const loaded = loadConfig(setup.configFile, setup.env);
  return startPipeline(loaded, { env: setup.env, logger: setup.logger, serveMetrics: false });
}

const SUM_QTY = `SELECT coalesce(sum(qty), 0)::bigint::text AS q FROM items`;

/** sum(qty) of a database's items. Every generated change (insert with qty 1, update qty + 1) adds exactly 1. */
async function sumQty(url: string): Promise<number> {
  const client = await connect(url);
  try {
    return Number((await client.query(SUM_QTY)).rows[0].q);
  } finally {
    await client.end();
  }
}

/** What the state store wrote over a phase, per change applied. */
interface StateCost {
  changes: number;
  /** WAL of the private state server over the phase (null with --shared-state: not separable there). */
  walBytes: number | null;
  walBytesPerChange: number | null;
  /** n_tup_ins + n_tup_upd + n_tup_del of the state schema's tables. */
  rowWrites: number;
  rowWritesPerChange: number;
  /** Row writes per change, by table. */
  byTable: Record<string, number>;
}

async function stateRowWrites(url: string): Promise<Map<string, number>> {
  const client = await connect(url);
  try {
    const { rows } = await client.query(`SELECT relname, (n_tup_ins + n_tup_upd + n_tup_del)::text AS n
      FROM pg_stat_user_tables WHERE schemaname = 'tandem'`);
    return new Map(rows.map((r) => [r.relname as string, Number(r.n)]));
  } finally {
    await client.end();
  }
}

/**
 * Measures the state store's WAL and row writes over a phase. Table
 * statistics reach pg_stat_user_tables up to about a second after a backend
 * goes idle, so both ends wait for them to settle (2.5 s); the WAL position is
 * read at once when the phase ends.
 */
async function stateMeter(setup: Setup): Promise<{ stop(changes: number): Promise<StateCost> }> {
  const server = opts.privateState ? await privateStateServer() : null;
  await sleep(2_500);
  const wal0 = server ? await server.walPosition() : null;
  const rows0 = await stateRowWrites(setup.state.url);
  return {
    async stop(changes) {
      const wal1 = server ? await server.walPosition() : null;
      await sleep(2_500);
      const rows1 = await stateRowWrites(setup.state.url);
      const per = (n: number) => (changes > 0 ? round(n / changes, 2) : 0);
      const byTable: Record<string, number> = {};
      let rowWrites = 0;
      for (const [table, n] of rows1) {
        const d = n - (rows0.get(table) ?? 0);
        rowWrites += d;
        if (d > 0) byTable[table] = per(d);
      }
      const walBytes = wal0 !== null && wal1 !== null ? Number(wal1 - wal0) : null;
      return { changes, walBytes, walBytesPerChange: walBytes === null ? null : per(walBytes), rowWrites, rowWritesPerChange: per(rowWrites), byTable };
    },
  };
}

const describeState = (c: StateCost) =>
  `state store: ${c.walBytesPerChange ?? '?'} WAL bytes and ${c.rowWritesPerChange} row writes per change (${Object.entries(c.byTable).map(([t, n]) => `${t} ${n}`).join(', ')})`;

interface Applied {
  /** The target holds the source's final state (checksum equal). */
  complete: boolean;
  /** Changes reflected on the target since `fromSum` (Δ sum(qty)). */
  applied: number;
  /** performance.now() when complete, or when the budget ran out. */
  at: number;
}

/**
 * Polls the target (every 100 ms, sum(qty) only) until it reflects every
 * change written to the source, then confirms with the full checksum. Gives up
 * at `deadline` (Date.now() ms) and reports how far it got.
 */
async function waitApplied(setup: Setup, fromSum: number, deadline: number): Promise<Applied> {
  const source = await connect(setup.src.url);
  const target = await connect(setup.dst.url);
  try {
    const wantSum = Number((await source.query(SUM_QTY)).rows[0].q);
    const want = await checksum(source);
    for (;;) {
      const have = Number((await target.query(SUM_QTY)).rows[0].q);
      const now = performance.now();
      if (have >= wantSum && (await checksum(target)) === want) return { complete: true, applied: have - fromSum, at: now };
      if (Date.now() > deadline) return { complete: false, applied: have - fromSum, at: now };
      await sleep(100);
    }
  } finally {
    await Promise.all([source.end(), target.end()]);
  }
}

async function verifyDigest(setup: Pick<Setup, 'src' | 'dst'>): Promise<{ equal: boolean; rows: number }> {
  const [s, t] = await Promise.all([connect(setup.src.url), connect(setup.dst.url)]);
  try {
    const [a, b] = await Promise.all([checksum(s, DIGEST), checksum(t, DIGEST)]);
    return { equal: a === b, rows: Number(JSON.parse(a).n) };
  } finally {
    await Promise.all([s.end(), t.end()]);
  }
}

/** Samples pipeline counters every 250 ms to tell when resolve (capture → outbox) finished vs apply. */
function stageClock(pipeline: RunningPipeline, t0: number, resolvedFrom: number, target: number) {
  let resolvedAt: number | null = null;
  const timer = setInterval(() => {
    if (resolvedAt === null && pipeline.stats().events.resolved - resolvedFrom >= target) resolvedAt = (performance.now() - t0) / 1000;
  }, 50);
  return { stop: () => (clearInterval(timer), resolvedAt === null ? null : round(resolvedAt, 2)) };
}

// ---------------------------------------------------------------------------
// CPU profile of a phase
// ---------------------------------------------------------------------------

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

async function startProfile(): Promise<Session | null> {
  if (!opts.profile) return null;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return session;
}

async function stopProfile(session: Session | null, name: string): Promise<{ file: string; top: Array<{ fn: string; selfMs: number; pct: number }> } | null> {
  if (!session) return null;
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
  session.disconnect();
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${stamp()}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFn = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    if (!us) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^file:\/\//, '').replace(ROOT + '/', '')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  const total = (profile.endTime - profile.startTime) || 1;
  const top = [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([fn, us]) => ({ fn, selfMs: round(us / 1000), pct: round((100 * us) / total, 1) }));
  return { file, top };
}

/**
 * With --profile: samples pg_stat_activity every 20 ms and counts, per database
 * role (source, target, state store) and statement, how often a backend was
 * busy in it: a wait-sampling profile of the server side.
 */
function startServerSampler(setup: Setup): { stop: () => Promise<Array<{ db: string; query: string; samples: number; pct: number }>> } | null {
  if (!opts.profile) return null;
  const roles = new Map([[setup.src.name, 'source'], [setup.dst.name, 'target'], [setup.state.name, 'state']]);
  const counts = new Map<string, number>();
  let ticks = 0;
  let running = true;
  const loop = (async () => {
    const client = await connect(PG_URL!);
    try {
      while (running) {
        const { rows } = await client.query(`SELECT datname, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS q, coalesce(wait_event, 'cpu') AS w
          FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND datname = ANY($1)`, [[...roles.keys()]]);
        ticks++;
        for (const r of rows) {
          const key = `${roles.get(r.datname)}\u0000${r.w}: ${r.q}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        await sleep(20);
      }
    } finally {
      await client.end();
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return [...counts].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([k, n]) => {
        const [db, query] = k.split('\u0000') as [string, string];
        return { db, query, samples: n, pct: round((100 * n) / Math.max(1, ticks), 1) };
      });
    },
  };
}

// ---------------------------------------------------------------------------
// phases 2–4 (and 5: the same without Redis)
// ---------------------------------------------------------------------------

interface ThroughputResult {
  /** Changes written to the source. */
  events: number;
  /** Changes of the previous phase not yet on the target when this one started (applied here too). */
  pendingAtStart: number;
  /** All of them on the target within the phase budget. */
  complete: boolean;
  /** Changes reflected on the target when the clock stopped (= events when complete). */
  applied: number;
  seconds: number;
  /** applied / seconds: end-to-end events/s. */
  eventsPerSecond: number;
  generateSeconds: number;
  resolvedAfterSeconds: number | null;
  nodeCpuPercent: number;
  peakRssMb: number;
  rssBeforeMb: number;
  /** Every column of every row equal on both sides (only checked when complete). */
  verified: boolean | null;
  snapshotRows: number;
  snapshotSeconds: number;
  /**
   * CPU µs per change by process group: this node process (tandem and the
   * bench's own writer and checks), the state store's private PostgreSQL,
   * the shared PostgreSQL (the source's own writes and walsender, the
   * target's writes, anyone else's work on it), Redis.
   */
  cpuMicrosPerChange: Record<string, number>;
  state: StateCost;
  /** The state database's WAL record by record (pg_walinspect) and row writes per table: where the cost per change goes. */
  stateCost: StateWalDetail;
}

interface LatencyResult {
  targetRate: number;
  achievedRate: number;
  seconds: number;
  rowsPerTransaction: number;
  /** Every change written was applied within the budget; if not, the percentiles miss the slowest rows. */
  complete: boolean;
  written: number;
  samples: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  lateTicks: number;
  peakRssMb: number;
}

interface BacklogResult {
  events: number;
  complete: boolean;
  applied: number;
  generateSeconds: number;
  drainSeconds: number;
  eventsPerSecond: number;
  peakRssMb: number;
  rssBeforeMb: number;
  verified: boolean | null;
  state: StateCost;
}

const budget = () => Date.now() + opts.phaseMs;

/** Starts the pipeline on a fresh set-up and waits until its initial snapshot is drained. */
async function startAndSnapshot(setup: Setup, label: string): Promise<{ pipeline: RunningPipeline; snapshotSeconds: number }> {
  const snapStart = performance.now();
  const pipeline = await start(setup);
  await pipeline.drain({ timeoutMs: opts.timeoutMs });
  const snapshotSeconds = (performance.now() - snapStart) / 1000;
  log(`${label}: initial snapshot of ${opts.seedRows} rows drained in ${round(snapshotSeconds, 1)} s (${round(opts.seedRows / snapshotSeconds)} rows/s)`);
  return { pipeline, snapshotSeconds };
}

async function throughput(setup: Setup, label: string, pipeline: RunningPipeline, snapshotSeconds: number): Promise<{ result: ThroughputResult; profile: Awaited<ReturnType<typeof stopProfile>> }> {
  const fromSum = await sumQty(setup.dst.url);
  const pendingAtStart = (await sumQty(setup.src.url)) - fromSum;
  log(`${label}: writing ${opts.events} changes${pendingAtStart ? ` (${pendingAtStart} changes of the previous phase not applied yet; they count as work of this one)` : ''}`);
  const meter = await stateMeter(setup);
  const base = pipeline.stats();
  const rssBeforeMb = round(process.memoryUsage().rss / 1024 / 1024, 1);
  rss.open(label);
  const profiler = await startProfile();
  const server = startServerSampler(setup);
  const cpu0 = process.cpuUsage();
  const cpuMeter = startCpuMeter({ statePostgres: await postmasterPid(setup.state.url), sharedPostgres: await postmasterPid(setup.src.url), redis: await redisPid() });
  const t0 = performance.now();
  const clock = stageClock(pipeline, t0, base.events.resolved, opts.events);
  const walDetail = await startStateCost(setup.state.url, 'tandem');
  const generateSeconds = await generateFast(setup.src.url, setup.work, opts.events, opts.txRows);
  const done = await waitApplied(setup, fromSum, budget());
  const seconds = (done.at - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuMicrosPerChange = cpuMeter.stop(done.applied);
  const stateCost = await walDetail.stop();
  const resolvedAfterSeconds = clock.stop();
  const profile = await stopProfile(profiler, `profile-${label}`);
  if (profile && server) (profile as Record<string, unknown>).server = await server.stop();
  const peakRssMb = rss.close(label);
  const state = await meter.stop(done.applied);
  const verified = done.complete ? (await verifyDigest(setup)).equal : null;
  const result: ThroughputResult = {
    events: opts.events, pendingAtStart, complete: done.complete, applied: done.applied, seconds: round(seconds, 3), eventsPerSecond: round(done.applied / seconds),
    generateSeconds: round(generateSeconds, 2), resolvedAfterSeconds, nodeCpuPercent: round((100 * (cpu.user + cpu.system)) / 1e6 / seconds),
    peakRssMb, rssBeforeMb, verified, snapshotRows: opts.seedRows, snapshotSeconds: round(snapshotSeconds, 2), state, stateCost, cpuMicrosPerChange,
  };
  log(`${label}: ${result.eventsPerSecond} events/s end to end (${done.applied} of ${opts.events + pendingAtStart} applied in ${result.seconds} s${done.complete ? '' : ', phase budget ran out'}; ` +
    `source written in ${result.generateSeconds} s; all resolved into the outbox after ${resolvedAfterSeconds ?? '?'} s; node CPU ${result.nodeCpuPercent} %; peak RSS ${peakRssMb} MB; rows identical: ${verified ?? 'not checked'}); ${describeState(state)}`);
  log(`${label}: ${describeStateCost(stateCost, done.applied)}`);
  log(`${label}: CPU µs per change: ${Object.entries(cpuMicrosPerChange).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return { result, profile };
}

/** The Redis server's pid (it runs on this machine), or null without Redis. */
async function redisPid(): Promise<number | null> {
  if (!REDIS_URL) return null;
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const pid = /process_id:(\d+)/.exec(await redis.info('server'))?.[1];
    return pid === undefined ? null : Number(pid);
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

async function latency(setup: Setup, rate: number): Promise<LatencyResult> {
  await sql(setup.dst.url,
    `CREATE TABLE IF NOT EXISTS apply_latency (ms double precision NOT NULL)`,
    `TRUNCATE apply_latency`,
    `CREATE OR REPLACE FUNCTION record_latency() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO apply_latency VALUES (extract(epoch FROM clock_timestamp() - NEW.updated_at) * 1000);
       RETURN NEW;
     END $$`,
    `CREATE TRIGGER record_latency AFTER INSERT OR UPDATE ON items FOR EACH ROW EXECUTE FUNCTION record_latency()`);
  const fromSum = await sumQty(setup.dst.url);
  log(`latency: ${rate} changes/s for ${opts.latencySeconds} s, ${opts.latencyTx} rows per transaction`);
  rss.open('latency');
  const gen = await generateAtRate(setup.src.url, setup.work, rate, opts.latencySeconds, opts.latencyTx);
  const done = await waitApplied(setup, fromSum, budget());
  const peakRssMb = rss.close('latency');
  const client = await connect(setup.dst.url);
  try {
    await client.query('DROP TRIGGER record_latency ON items');
    const { rows } = await client.query(`SELECT count(*)::int AS n,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95,
        percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, max(ms) AS max FROM apply_latency`);
    const r = rows[0];
    const ms = (v: number | null) => (v === null ? null : round(v, 1));
    const result: LatencyResult = {
      targetRate: rate, achievedRate: round(gen.rows / gen.seconds), seconds: round(gen.seconds, 2), rowsPerTransaction: opts.latencyTx,
      complete: done.complete, written: gen.rows, samples: r.n, p50Ms: ms(r.p50), p95Ms: ms(r.p95), p99Ms: ms(r.p99), maxMs: ms(r.max), lateTicks: gen.lateTicks, peakRssMb,
    };
    log(`latency: p50 ${result.p50Ms} ms, p95 ${result.p95Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms over ${r.n} applied rows (written at ${result.achievedRate}/s)` +
      (done.complete ? '' : `; INCOMPLETE: only ${done.applied} of ${gen.rows} changes applied within the budget, the slowest are missing`));
    return result;
  } finally {
    await client.end();
  }
}

async function backlog(setup: Setup, pipeline: RunningPipeline): Promise<BacklogResult> {
  await stopWithin(pipeline, 'backlog (before)');
  const fromSum = await sumQty(setup.dst.url);
  log(`backlog: pipeline stopped; writing ${opts.backlog} changes (target had the source's state: ${fromSum === (await sumQty(setup.src.url))})`);
  const generateSeconds = await generateFast(setup.src.url, setup.work, opts.backlog, opts.txRows);
  global.gc?.();
  const meter = await stateMeter(setup);
  const rssBeforeMb = round(process.memoryUsage().rss / 1024 / 1024, 1);
  rss.open('backlog');
  const t0 = performance.now();
  const restarted = await start(setup);
  try {
    const done = await waitApplied(setup, fromSum, Date.now() + opts.backlogMs);
    const drainSeconds = (done.at - t0) / 1000;
    const peakRssMb = rss.close('backlog');
    const state = await meter.stop(done.applied);
    const verified = done.complete ? (await verifyDigest(setup)).equal : null;
    const result: BacklogResult = {
      events: opts.backlog, complete: done.complete, applied: done.applied, generateSeconds: round(generateSeconds, 2), drainSeconds: round(drainSeconds, 2),
      eventsPerSecond: round(done.applied / drainSeconds), peakRssMb, rssBeforeMb, verified, state,
    };
    log(`backlog: ${done.applied} of ${opts.backlog} changes applied in ${result.drainSeconds} s (${result.eventsPerSecond}/s)${done.complete ? '' : ' (phase budget ran out)'}, ` +
      `peak RSS ${peakRssMb} MB (before restart ${rssBeforeMb} MB); ${describeState(state)}`);
    return result;
  } finally {
    await stopWithin(restarted, 'backlog (after)');
  }
}

function logLines(file: string): { warn: number; error: number; first: string[] } {
  if (!existsSync(file)) return { warn: 0, error: 0, first: [] };
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const level = (l: string) => {
    try {
      return (JSON.parse(l) as { level?: string }).level ?? '';
    } catch {
      return '';
    }
  };
  return {
    warn: lines.filter((l) => level(l) === 'warn').length,
    error: lines.filter((l) => level(l) === 'error').length,
    first: lines.filter((l) => level(l) === 'error' || level(l) === 'warn').slice(0, 3).map((l) => l.slice(0, 300)),
  };
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
}

// ---------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------

async function serverInfo(): Promise<Record<string, string>> {
  const client = await connect(PG_URL!);
  try {
    const { rows } = await client.query(`SELECT current_setting('server_version') AS version, current_setting('shared_buffers') AS shared_buffers,
      current_setting('synchronous_commit') AS synchronous_commit, current_setting('fsync') AS fsync, current_setting('wal_level') AS wal_level`);
    return rows[0];
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'tandem-bench-'));
  cleanups.push(async () => rmSync(tmp, { recursive: true, force: true }));
  const startedAt = new Date();
  const machine = {
    cores: cpus().length, cpu: cpus()[0]?.model ?? '?', memoryGb: round(totalmem() / 1024 ** 3, 1),
    node: process.version, platform: `${process.platform} ${process.arch}`, postgres: await serverInfo(),
  };
  log(`machine: ${machine.cores} cores (${machine.cpu}), node ${machine.node}, PostgreSQL ${machine.postgres.version}`);
  const result: Record<string, unknown> = { startedAt: startedAt.toISOString(), options: opts, machine };

  result.ceiling = await ceiling();
  if (opts.native) result.native = await nativeSubscription();

  const withRedis = await setUp(tmp, true);
  const first = await startAndSnapshot(withRedis, 'redis');
  let pipeline: RunningPipeline | null = first.pipeline;
  cleanups.push(() => (pipeline ? stopWithin(pipeline, 'clean-up', 10_000) : Promise.resolve()));
  // Latency first, on an idle pipeline; then throughput; then the backlog.
  if (opts.latencySeconds > 0) {
    const latencies: Record<string, LatencyResult> = {};
    for (const rate of opts.rates) latencies[`rate${rate}`] = await latency(withRedis, rate);
    result.latency = latencies;
  }
  const e2e = await throughput(withRedis, 'throughput', pipeline, first.snapshotSeconds);
  result.throughput = e2e.result;
  if (e2e.profile) result.profile = e2e.profile;
  if (opts.backlog > 0) {
    const p = pipeline;
    pipeline = null;
    result.backlog = await backlog(withRedis, p);
  } else {
    await stopWithin(pipeline, 'throughput');
    pipeline = null;
  }
  result.pipelineLog = { redis: logLines(withRedis.logFile) };

  if (opts.noRedisRun) {
    const noRedis = await setUp(tmp, false);
    const second = await startAndSnapshot(noRedis, 'no redis');
    try {
      const run = await throughput(noRedis, 'throughput-no-redis', second.pipeline, second.snapshotSeconds);
      result.throughputNoRedis = run.result;
    } finally {
      await stopWithin(second.pipeline, 'no redis');
    }
    (result.pipelineLog as Record<string, unknown>).noRedis = logLines(noRedis.logFile);
  }
  result.stopIssues = stopIssues;
  result.finishedAt = new Date().toISOString();
  result.totalSeconds = round((Date.now() - startedAt.getTime()) / 1000, 1);

  const out = argv.out ? resolve(argv.out) : join(ROOT, 'bench', 'results', `pg-to-pg-${stamp()}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  printTable(result);
  console.log(`\nresults: ${out}`);
}

function printTable(r: Record<string, any>): void {
  const ceil = r.ceiling as CeilingResult;
  const ratio = (eps: number) => `${round((100 * eps) / ceil.eventsPerSecond, 1)} % of ceiling`;
  const rows: Array<[string, string, string]> = [];
  rows.push(['raw pgoutput decode (ceiling)', `${ceil.eventsPerSecond} events/s`, `${ceil.events} events in ${ceil.seconds} s`]);
  const tp = (name: string, t: ThroughputResult | undefined) => {
    if (!t) return;
    rows.push([`${name}: end to end`, `${t.eventsPerSecond} events/s`, `${ratio(t.eventsPerSecond)}; ${t.complete ? `${t.applied} in ${t.seconds} s` : `INCOMPLETE: ${t.applied} of ${t.events + t.pendingAtStart} in ${t.seconds} s`}; goal ≥ 20000 and ≥ 50 %`]);
    rows.push([`${name}: outbox filled after`, `${t.resolvedAfterSeconds ?? '?'} s`, `source written in ${t.generateSeconds} s; node CPU ${t.nodeCpuPercent} %`]);
    rows.push([`${name}: initial snapshot`, `${round(t.snapshotRows / t.snapshotSeconds)} rows/s`, `${t.snapshotRows} rows in ${t.snapshotSeconds} s`]);
    rows.push([`${name}: peak RSS`, `${t.peakRssMb} MB`, `before ${t.rssBeforeMb} MB; rows identical: ${t.verified}`]);
  };
  tp('redis', r.throughput);
  const n = r.native as NativeResult | undefined;
  if (n) {
    const t = r.throughput as ThroughputResult | undefined;
    const vs = t ? `tandem = ${round(t.eventsPerSecond / Math.max(1, n.eventsPerSecond), 3)}× of it (goal ≥ 0.2×)` : '';
    rows.push(['peer: native logical replication', `${n.eventsPerSecond} events/s`, `first → last change applied, ${n.applied} in ${n.firstToLastSeconds} s${n.complete ? '' : ' INCOMPLETE'}; ${vs}`]);
  }
  const st = (r.throughput as ThroughputResult | undefined)?.state;
  if (st) {
    rows.push(['state store WAL per change', `${st.walBytesPerChange ?? '?'} bytes`, `${st.walBytes ?? '?'} bytes over ${st.changes} changes (private server); goal ≤ 1000`]);
    rows.push(['state store row writes per change', `${st.rowWritesPerChange}`, `${Object.entries(st.byTable).map(([k, v]) => `${k} ${v}`).join(', ')}; goal ≤ 1.5`]);
  }
  for (const l of Object.values((r.latency ?? {}) as Record<string, LatencyResult>)) {
    const goal = l.targetRate <= 1000 ? 50 : 100;
    rows.push([`latency at ${l.targetRate}/s: p50 / p95`, `${l.p50Ms} / ${l.p95Ms} ms`, `written at ${l.achievedRate}/s, ${l.rowsPerTransaction} rows/tx, ${l.samples} of ${l.written} rows${l.complete ? '' : ' (INCOMPLETE: lower bounds)'}`]);
    rows.push([`latency at ${l.targetRate}/s: p99 / max`, `${l.p99Ms} / ${l.maxMs} ms`, `goal p99 ≤ ${goal} ms; peak RSS ${l.peakRssMb} MB`]);
  }
  const b = r.backlog as BacklogResult | undefined;
  if (b) {
    rows.push(['backlog drain', `${b.eventsPerSecond} events/s`, `${ratio(b.eventsPerSecond)}; ${b.complete ? `${b.applied} in ${b.drainSeconds} s` : `INCOMPLETE: ${b.applied} of ${b.events}+ in ${b.drainSeconds} s`}`]);
    rows.push(['backlog drain: peak RSS', `${b.peakRssMb} MB`, `before restart ${b.rssBeforeMb} MB; rows identical: ${b.verified}; goal ≤ 512 MiB`]);
  }
  tp('no redis', r.throughputNoRedis);
  const w = [Math.max(...rows.map((x) => x[0].length)), Math.max(...rows.map((x) => x[1].length))];
  console.log(`\ntandem bench pg → pg   ${r.machine.cores} cores (${r.machine.cpu}), node ${r.machine.node}, PostgreSQL ${r.machine.postgres.version}, ${r.totalSeconds} s`);
  for (const [a, v, note] of rows) console.log(`  ${a.padEnd(w[0]!)}  ${v.padStart(w[1]!)}  ${note}`);
  if (r.profile) {
    console.log(`\nCPU profile of the throughput phase (${r.profile.file}), top self time:`);
    for (const t of r.profile.top.slice(0, 15)) console.log(`  ${String(t.selfMs).padStart(7)} ms ${String(t.pct).padStart(5)} %  ${t.fn}`);
    console.log('\nserver side (pg_stat_activity sampled every 20 ms; % of samples a backend was active in it):');
    for (const t of r.profile.server ?? []) console.log(`  ${String(t.pct).padStart(5)} %  ${t.db.padEnd(6)} ${t.query}`);
  }
  for (const issue of (r.stopIssues ?? []) as string[]) console.log(`note: ${issue}`);
  for (const [name, l2] of Object.entries((r.pipelineLog ?? {}) as Record<string, ReturnType<typeof logLines>>)) {
    if (l2.warn + l2.error > 0) console.log(`\npipeline log (${name}): ${l2.warn} warnings, ${l2.error} errors; first: \n  ${l2.first.join('\n  ')}`);
  }
}

main()
  .then(async () => {
    await cleanup();
    rss.stop();
    process.exit(0);
  })
  .catch(async (error: unknown) => {
    console.error(`bench failed: ${(error as Error)?.stack ?? error}`);
    await cleanup();
    rss.stop();
    process.exit(1);
  });
