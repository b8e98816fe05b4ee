/**
 * What operators see of a running pipeline on real PostgreSQL (ERP ⇄ CRM,
 * state store) and Redis: the initial snapshot's progress per table in the
 * metrics, the log, `tandem status` and the pipeline's own report; capture lag
 * of an idle source that stays at 0 between heartbeats; every metric the
 * Grafana dashboard and the alert rules query, exported with samples; and
 * `/readyz` turning 503 while a state-store table is locked (a stalled stage),
 * then ready again, with `/healthz` alive throughout.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { snapshotStatusOf } from '../../src/cli/snapshot-status';
import { runStatus } from '../../src/cli/status-command';
import { parseConfig } from '../../src/config';
import { freePort } from '../../src/demo/embedded';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { waitFor } from '../support';
import { alertQueries, dashboardQueries, metricNamesOf } from '../docker/queries';
import { createWorld, ERP_DDL, lockTable, sql, twoWayConfig, type TwoWayWorld } from './harness';

/** Families that legitimately have no series in this pipeline, and why. */
const NO_SERIES_HERE: Record<string, string> = {
  tandem_kafka_consumer_lag_messages: 'only systems captured through Debezium and Kafka have a consumer lag',
};

const SEEDED = 300;
const HEARTBEAT_MS = 1000;

function infoLogger(): { logger: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _encoding, callback) { lines.push(String(chunk).trim()); callback(); } });
  const logger = winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return { logger, lines };
}

describe('operations view of a running pipeline (PostgreSQL ERP ⇄ CRM)', () => {
  let world: TwoWayWorld;
  let pipeline: RunningPipeline | undefined;
  let port: number;
  let yaml: string;
  const log = infoLogger();

  const erp = (text: string, params: unknown[] = []) => sql(world.erp.url, text, params);
  const crm = (text: string, params: unknown[] = []) => sql(world.crm.url, text, params);
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) });
    return { status: response.status, body: await response.text() };
  };
  const drain = async () => {
    try {
      await pipeline!.drain({ timeoutMs: 60_000 });
    } catch (error) {
      throw new Error(`${(error as Error).message}\npipeline log:\n${log.lines.slice(-40).join('\n')}`);
    }
  };

  beforeAll(async () => {
    // A name the ERP refuses for good: a CRM account named so becomes an exception.
    world = await createWorld('ops', { erpDdl: `${ERP_DDL}\nALTER TABLE customers ADD CONSTRAINT customers_name_short CHECK (length(name) <= 40);` });
    await sql(world.erp.url, `INSERT INTO customers (name, credit_limit) SELECT 'seed ' || g, 10 FROM generate_series(1, ${SEEDED}) g`);
    // Statistics as a DBA's database has them (autovacuum would get there too, later).
    await sql(world.erp.url, 'ANALYZE customers');
    port = await freePort();
    yaml = twoWayConfig({ names: world.names, heartbeatMs: HEARTBEAT_MS })
      .replace('metrics:\n  port: 0', `metrics:\n  port: ${port}`)
      .replace('log:\n  level: warn', 'log:\n  level: info\n  progressSeconds: 1\nhealth:\n  stallSeconds: 2');
    pipeline = await startPipeline(parseConfig(yaml, '/virtual/ops.yaml', world.env), { env: world.env, logger: log.logger });
    await drain();
  });

  afterAll(async () => {
    await pipeline?.stop();
    await world?.cleanup();
  });

  it('reports the initial snapshot per table: rows done of the statistics estimate, done, in metrics, the log, status and the pipeline', async () => {
    const rows = snapshotStatusOf((await get('/metrics')).body);
    const customers = rows.find((r) => r.source === 'erp' && r.table === 'public.customers');
    expect(customers).toMatchObject({ state: 'done', rowsDone: SEEDED, rowsEstimated: SEEDED, etaSeconds: 0 });
    expect(customers!.rowsPerSecond).toBeGreaterThan(0);
    // Every mapped table of both captured systems was planned and is done (the empty ones with 0 rows).
    expect(rows.map((r) => `${r.source} ${r.table} ${r.state}`).sort()).toEqual([
      'crm public.accounts done', 'crm public.order_lines done', 'crm public.orders done',
      'erp public.customers done', 'erp public.order_lines done', 'erp public.orders done',
    ]);
    expect(pipeline!.snapshotProgress().find((t) => t.table === 'public.customers' && t.source === 'erp')).toMatchObject({ state: 'done', rowsDone: SEEDED });

    const planned = log.lines.find((l) => l.includes('"snapshot planned"') && l.includes('"system":"erp"'));
    expect(planned).toContain(`public.customers (~${SEEDED} rows)`);
    const doneLine = () => log.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === 'snapshot of table done' && l.table === 'public.customers');
    // Announced at the progress loop's next tick (log.progressSeconds: 1).
    await waitFor(() => doneLine() !== undefined, { timeoutMs: 5_000, message: 'no "snapshot of table done" line' });
    expect(doneLine()).toMatchObject({ source: 'erp', rowsDone: SEEDED, rowsEstimated: SEEDED, percent: 100, state: 'done' });

    // tandem status, pointed at the running service by the same configuration file.
    const dir = mkdtempSync(join(tmpdir(), 'tandem-ops-'));
    const saved = { ...process.env };
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { out.push(String(chunk)); return true; });
    try {
      writeFileSync(join(dir, 'tandem.yaml'), yaml);
      Object.assign(process.env, world.env);
      await runStatus({ config: join(dir, 'tandem.yaml') });
    } finally {
      write.mockRestore();
      process.env = saved;
      rmSync(dir, { recursive: true, force: true });
    }
    const text = out.join('');
    expect(text).toContain('initial snapshots:');
    expect(text).toMatch(new RegExp(`erp +public\\.customers +done +${SEEDED} / ${SEEDED} \\(100\\.0%\\)`));
  });

  it('keeps an idle source\'s capture lag at 0 between heartbeats (no saw-tooth up to the interval)', async () => {
    await new Promise((r) => setTimeout(r, 2 * HEARTBEAT_MS));
    const samples: number[] = [];
    for (let i = 0; i < 30; i++) {
      const line = (await get('/metrics')).body.split('\n').find((l) => l.startsWith('tandem_capture_lag_seconds{system="erp"}'));
      samples.push(Number(line?.split(' ')[1]));
      await new Promise((r) => setTimeout(r, 100));
    }
    // Before the fix these spread evenly over 0 … 1 s (the heartbeat interval).
    expect(samples.every((s) => Number.isFinite(s))).toBe(true);
    expect(Math.max(...samples), samples.join(' ')).toBeLessThan(0.5);
    expect(samples.filter((s) => s === 0).length, samples.join(' ')).toBeGreaterThanOrEqual(27);
  });

  it('exports every metric the Grafana dashboard and the alert rules query, with samples, and no empty label value', async () => {
    // Traffic for each family: a change applied (latency histograms), a conflict (CRM edits a field ERP owns),
    // an exception (a CRM name the ERP refuses), and a chain verification (at start).
    await erp(`INSERT INTO customers (name, credit_limit) VALUES ('Ops Traffic', 5)`);
    await drain();
    const [account] = await crm(`SELECT id FROM accounts WHERE account_name = 'Ops Traffic'`);
    await crm('UPDATE accounts SET credit_limit = 99999 WHERE id = $1', [account!.id]);
    await crm(`INSERT INTO accounts (account_name, credit_limit) VALUES ($1, 1)`, ['An account name far longer than forty characters, refused']);
    await drain();
    await waitFor(async () => (await get('/metrics')).body.includes('tandem_exceptions_open{entity="customer",system="erp"} 1'), {
      timeoutMs: 30_000, message: 'no exception for the refused name in the metrics',
    });

    const text = (await get('/metrics')).body;
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const sampled = new Set(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0].replace(/_(bucket|sum|count)$/, '')));
    const queries = [...dashboardQueries(), ...alertQueries()];
    const missing: string[] = [];
    const empty: string[] = [];
    for (const { where, expr } of queries) {
      const names = metricNamesOf(expr);
      if (names.length === 0) missing.push(`${where} names no tandem metric: ${expr}`);
      for (const name of names) {
        if (!families.has(name)) missing.push(`${where}: ${name} is not exported`);
        else if (!sampled.has(name) && !NO_SERIES_HERE[name]) empty.push(`${where}: ${name} has no series`);
      }
    }
    expect(missing).toEqual([]);
    expect(empty).toEqual([]);
    expect(text).not.toMatch(/=""/);
    expect(text).toMatch(/^tandem_conflicts_total\{entity="customer",decision="[a-z_-]+",rule="customer\.credit_limit[^"]*"\} [1-9]/m);
    expect(text).toMatch(/^tandem_sync_completion_seconds_count\{entity="customer",target="crm"\} [1-9]/m);
    expect(text).toMatch(/^tandem_batch_resolve_seconds_count\{system="erp"\} [1-9]/m);
    expect(text).toContain('tandem_conflict_chain_verified 1');
  });

  it('answers 503 on /readyz while the state store\'s outbox is locked (stalled stages), ready again once released; /healthz stays 200', async () => {
    await waitFor(async () => (await get('/readyz')).status === 200, { timeoutMs: 20_000, message: '/readyz not ready before the stall' });
    const { release } = await lockTable(world.state.url, `${world.names.schema}.outbox`);
    try {
      const lockedAt = Date.now();
      await erp(`INSERT INTO customers (name, credit_limit) VALUES ('During Stall', 1)`);
      await waitFor(async () => (await get('/readyz')).status === 503, { timeoutMs: 20_000, intervalMs: 250, message: '/readyz stayed ready through the stall' });
      const notReady = await get('/readyz');
      expect(notReady.body).toMatch(/^(resolve:erp|apply:crm|apply:erp): stalled: work in hand, no progress for \d+s \(health\.stallSeconds: 2\)$/m);
      // Not before the allowance: a busy moment is not a stall.
      expect(Date.now() - lockedAt).toBeGreaterThanOrEqual(2_000);
      expect((await get('/healthz')).status).toBe(200);
      await release();
      await waitFor(async () => (await get('/readyz')).status === 200, { timeoutMs: 20_000, intervalMs: 250, message: '/readyz did not return to ready after the lock was released' });
      await drain();
      expect(await crm(`SELECT 1 FROM accounts WHERE account_name = 'During Stall'`)).toHaveLength(1);
    } finally {
      await release();
    }
  });
});
