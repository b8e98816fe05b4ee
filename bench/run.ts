/**
 * `npm run bench [-- --quick]`: the PostgreSQL → PostgreSQL and the Kafka →
 * PostgreSQL benchmarks in one run, each beside its peers measured in the same
 * run (PostgreSQL's own logical replication; Debezium's JDBC sink), with the
 * machine's load average sampled throughout. Writes bench/results/latest.json
 * (the figures issue 10 names) and keeps each benchmark's full JSON beside it.
 *
 *   --quick        the smaller run of each benchmark (a few minutes in all)
 *   --skip-kafka   only the PostgreSQL → PostgreSQL benchmark
 *   --out FILE     instead of bench/results/latest.json
 *
 * Each benchmark runs in a process of its own (tsx), so that the peak RSS it
 * reports is its pipeline's, not the other's. A benchmark that fails leaves its
 * figures null in latest.json, its error beside them, and the exit code 1.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'skip-kafka': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
  strict: true,
});

const round = (n: number, digits = 0) => Math.round(n * 10 ** digits) / 10 ** digits;
const stamp = () => new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);

/** 1-minute load average every 5 s, per stretch of the run. */
class LoadSampler {
  private samples: Array<{ at: string; phase: string; load1: number }> = [];
  private phase = 'start';
  private timer = setInterval(() => this.sample(), 5_000);
  constructor() {
    this.sample();
  }
  enter(phase: string): void {
    this.phase = phase;
    this.sample();
  }
  private sample(): void {
    this.samples.push({ at: new Date().toISOString(), phase: this.phase, load1: round(loadavg()[0]!, 2) });
  }
  summary(): Record<string, unknown> {
    clearInterval(this.timer);
    this.sample();
    const stats = (xs: number[]) => ({ min: Math.min(...xs), mean: round(xs.reduce((a, b) => a + b, 0) / xs.length, 2), max: Math.max(...xs) });
    const byPhase: Record<string, unknown> = {};
    for (const phase of new Set(this.samples.map((s) => s.phase))) byPhase[phase] = stats(this.samples.filter((s) => s.phase === phase).map((s) => s.load1));
    const [l1, l5, l15] = loadavg();
    return { ...stats(this.samples.map((s) => s.load1)), cores: cpus().length, atEnd: { load1: l1, load5: l5, load15: l15 }, byPhase, samples: this.samples.length };
  }
}

function run(script: string, extra: string[]): Promise<number> {
  return new Promise((resolvePromise) => {
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
    const child = spawn(tsx, [join(ROOT, 'bench', script), ...extra], { cwd: ROOT, stdio: 'inherit', env: process.env });
    child.on('exit', (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
    child.on('error', () => resolvePromise(1));
  });
}

function readJson(file: string): Record<string, any> | null {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>) : null;
}

function pgFigures(r: Record<string, any> | null): Record<string, unknown> | null {
  if (!r) return null;
  const latency = (l: any) => (l ? { p50: l.p50Ms, p95: l.p95Ms, p99: l.p99Ms, max: l.maxMs, achievedRate: l.achievedRate, complete: l.complete } : null);
  const t = r.throughput;
  const n = r.native;
  const b = r.backlog;
  return {
    ceilingEventsPerSec: r.ceiling?.eventsPerSecond ?? null,
    endToEndEventsPerSec: t?.eventsPerSecond ?? null,
    endToEndComplete: t?.complete ?? null,
    endToEndNoRedisEventsPerSec: r.throughputNoRedis?.eventsPerSecond ?? null,
    nativeSubscriptionEventsPerSec: n?.eventsPerSecond ?? null,
    nativeSubscriptionComplete: n?.complete ?? null,
    tandemOverNative: t && n?.eventsPerSecond ? round(t.eventsPerSecond / n.eventsPerSecond, 3) : null,
    stateWalBytesPerChange: t?.state?.walBytesPerChange ?? null,
    stateRowWritesPerChange: t?.state?.rowWritesPerChange ?? null,
    stateRowWritesPerChangeByTable: t?.state?.byTable ?? null,
    cpuMicrosPerChange: t?.cpuMicrosPerChange ?? null,
    // The source's own WAL per change, for scale: the shared server's WAL over the ceiling phase's writes,
    // an upper bound (other engineers' writes in the same seconds are in it too).
    sourceWalBytesPerChangeUpperBound: r.ceiling?.walBytes && r.ceiling?.events ? round(r.ceiling.walBytes / r.ceiling.events) : null,
    latencyMs: Object.fromEntries(Object.entries(r.latency ?? {}).map(([k, v]) => [k, latency(v)])),
    backlog: b
      ? { changes: b.events, eventsPerSec: b.eventsPerSecond, peakRssMiB: b.peakRssMb, rssBeforeMiB: b.rssBeforeMb, complete: b.complete, verified: b.verified,
          drainSeconds: b.drainSeconds, stateWalBytesPerChange: b.state?.walBytesPerChange ?? null, stateRowWritesPerChange: b.state?.rowWritesPerChange ?? null }
      : null,
    transactionShape: `${r.options?.txRows} rows (30 % inserts, 70 % updates)`,
  };
}

function kafkaFigures(r: Record<string, any> | null): Record<string, unknown> | null {
  if (!r) return null;
  const jdbc = (r.jdbcSink ?? []) as Array<{ batchSize: number; eventsPerSecond: number; runningEventsPerSecond: number | null }>;
  const best = jdbc.length ? Math.max(...jdbc.map((j) => j.eventsPerSecond)) : null;
  const e2e = r.endToEnd?.eventsPerSecond ?? null;
  return {
    events: r.events,
    rawEventsPerSec: r.raw?.eventsPerSecond ?? null,
    sourceOnlyEventsPerSec: r.sourceOnly?.eventsPerSecond ?? null,
    endToEndEventsPerSec: e2e,
    endToEndRunningEventsPerSec: r.endToEnd?.runningEventsPerSecond ?? null,
    jdbcSinkEventsPerSec: best,
    jdbcSinkByBatchSize: Object.fromEntries(jdbc.map((j) => [String(j.batchSize), { eventsPerSec: j.eventsPerSecond, runningEventsPerSec: j.runningEventsPerSecond }])),
    tandemOverJdbcSink: e2e !== null && best ? round(e2e / best, 2) : null,
  };
}

function printSummary(out: Record<string, any>): void {
  const p = out.pgToPg ?? {};
  const k = out.kafkaToPg ?? {};
  const rows: Array<[string, unknown, string, string]> = [
    ['pg → pg end to end (events/s)', p.endToEndEventsPerSec, `native subscription ${p.nativeSubscriptionEventsPerSec}; pgoutput ceiling ${p.ceilingEventsPerSec}`, '≥ 20,000 and ≥ 0.2× native'],
    ['pg → pg: tandem / native', p.tandemOverNative, '', '≥ 0.2'],
    ['state store WAL bytes per change', p.stateWalBytesPerChange, `the source's own change: ≤ ${p.sourceWalBytesPerChangeUpperBound} (shared server, others' WAL included)`, '≤ 1,000'],
    ['state store row writes per change', p.stateRowWritesPerChange, JSON.stringify(p.stateRowWritesPerChangeByTable ?? {}), '≤ 1.5'],
    ['latency p99 at 1,000/s (ms)', p.latencyMs?.rate1000?.p99, `p50 ${p.latencyMs?.rate1000?.p50}`, '≤ 50'],
    ['latency p99 at 5,000/s (ms)', p.latencyMs?.rate5000?.p99, `p50 ${p.latencyMs?.rate5000?.p50}`, '≤ 100'],
    ['backlog drain (events/s)', p.backlog?.eventsPerSec, `${p.backlog?.changes} changes, complete ${p.backlog?.complete}`, ''],
    ['backlog peak RSS (MiB)', p.backlog?.peakRssMiB, `before restart ${p.backlog?.rssBeforeMiB}`, '≤ 512'],
    ['kafka → pg end to end (events/s)', k.endToEndEventsPerSec, `raw kafkajs ${k.rawEventsPerSec}; JDBC sink ${k.jdbcSinkEventsPerSec}`, '≥ 20,000'],
    ['kafka → pg: tandem / JDBC sink', k.tandemOverJdbcSink, JSON.stringify(k.jdbcSinkByBatchSize ?? {}), '≥ 5'],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`\nbench ${out.quick ? '--quick ' : ''}${out.startedAt} (${out.totalSeconds} s); load average (1 min) ${out.loadAverage.min}–${out.loadAverage.max}, mean ${out.loadAverage.mean} on ${out.loadAverage.cores} cores`);
  for (const [name, value, beside, goal] of rows) console.log(`  ${name.padEnd(w)}  ${String(value ?? '—').padStart(9)}  ${goal ? `goal ${goal}` : ''}${beside ? `  (${beside})` : ''}`);
  for (const e of out.errors as string[]) console.log(`  FAILED: ${e}`);
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const load = new LoadSampler();
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const quick = args.quick ? ['--quick'] : [];
  const errors: string[] = [];

  const pgFile = join(dir, `pg-to-pg-${stamp()}.json`);
  load.enter('pgToPg');
  const pgCode = await run('pg-to-pg.ts', [...quick, '--out', pgFile]);
  if (pgCode !== 0) errors.push(`bench/pg-to-pg.ts exited with ${pgCode}`);

  let kafkaFile: string | null = null;
  if (!args['skip-kafka']) {
    kafkaFile = join(dir, `kafka-to-pg-${stamp()}.json`);
    load.enter('kafkaToPg');
    const kafkaCode = await run('kafka-to-pg.ts', [...quick, '--out', kafkaFile]);
    if (kafkaCode !== 0) errors.push(`bench/kafka-to-pg.ts exited with ${kafkaCode}`);
  }

  const out: Record<string, unknown> = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    totalSeconds: round((Date.now() - startedAt.getTime()) / 1000, 1),
    quick: args.quick,
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? '?', memoryGiB: round(totalmem() / 1024 ** 3, 1), node: process.version },
    loadAverage: load.summary(),
    note: 'Measured on a shared machine (other engineers\' tests and servers on the same cores): compare figures only with their peers of the same run.',
    pgToPg: pgFigures(readJson(pgFile)),
    kafkaToPg: kafkaFile ? kafkaFigures(readJson(kafkaFile)) : null,
    files: { pgToPg: pgFile.replace(`${ROOT}/`, ''), kafkaToPg: kafkaFile?.replace(`${ROOT}/`, '') ?? null },
    errors,
  };
  const outFile = args.out ? resolve(args.out) : join(dir, 'latest.json');
  writeFileSync(outFile, `${JSON.stringify(out, null, 2)}\n`);
  printSummary(out);
  console.log(`\nresults: ${outFile}`);
  return errors.length ? 1 : 0;
}

main().then((code) => process.exit(code), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
