/**
 * A large initial load seen while it runs (PostgreSQL ERP → CRM, real state
 * store): the table is `in progress` with rows done of the statistics
 * estimate, a rate and an ETA, in the metrics and a periodic log line; when
 * the state store stalls mid-load (its checkpoints locked by another session) the
 * rows done stop, the progress lines keep coming, and /readyz says which stage
 * is stalled; once released the load finishes and the table is `done`.
 */
import { Writable } from 'node:stream';
import winston from 'winston';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotStatusOf, type SnapshotStatusRow } from '../../src/cli/snapshot-status';
import { parseConfig } from '../../src/config';
import { freePort } from '../../src/demo/embedded';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { waitFor } from '../support';
import { createWorld, lockTable, sql, twoWayConfig, type TwoWayWorld } from './harness';

const ROWS = 3000;
const CHUNK = 30;

describe('initial load progress while it runs (PostgreSQL ERP → CRM)', () => {
  let world: TwoWayWorld;
  let pipeline: RunningPipeline | undefined;
  let port: number;
  const lines: Array<Record<string, unknown>> = [];
  const logger = winston.createLogger({
    level: 'info',
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream: new Writable({ write(chunk, _e, done) { lines.push(JSON.parse(String(chunk)) as Record<string, unknown>); done(); } }) })],
  });

  const customers = async (): Promise<SnapshotStatusRow | undefined> => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    return snapshotStatusOf(text).find((r) => r.source === 'erp' && r.table === 'public.customers');
  };
  const readyz = async () => {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(10_000) });
    return { status: response.status, body: await response.text() };
  };

  beforeAll(async () => {
    world = await createWorld('snapprog');
    await sql(world.erp.url, `INSERT INTO customers (name, credit_limit) SELECT 'load ' || g, 10 FROM generate_series(1, ${ROWS}) g`);
    await sql(world.erp.url, 'ANALYZE customers');
    port = await freePort();
    const yaml = twoWayConfig({ names: world.names, captureCrm: false })
      .replace('metrics:\n  port: 0', `metrics:\n  port: ${port}`)
      .replace('log:\n  level: warn', 'log:\n  level: info\n  progressSeconds: 1\nhealth:\n  stallSeconds: 2')
      .replace(`publication: ${world.names.erpSlot}`, `publication: ${world.names.erpSlot}\n      maxBatchEvents: ${CHUNK}`);
    pipeline = await startPipeline(parseConfig(yaml, '/virtual/snapshot-progress.yaml', world.env), { env: world.env, logger });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await world?.cleanup();
  });

  it('shows the table in progress with rate and ETA, holds still through a stall that /readyz reports, then done', async () => {
    await waitFor(async () => {
      const row = await customers();
      return row !== undefined && row.state === 'in progress' && row.rowsDone > 0;
    }, { timeoutMs: 30_000, intervalMs: 20, message: 'the customers snapshot was never seen in progress' });

    // Every resolved batch ends by writing its source's checkpoint.
    const { release } = await lockTable(world.state.url, `${world.names.schema}.checkpoints`);
    try {
      // /metrics answers through the stall: its state-store probes give up after 2 s and keep their last values.
      const during = await customers();
      expect(during).toMatchObject({ state: 'in progress', rowsEstimated: ROWS });
      expect(during!.rowsDone).toBeGreaterThan(0);
      expect(during!.rowsDone).toBeLessThan(ROWS);
      expect(during!.rowsDone % CHUNK).toBe(0);
      expect(during!.rowsPerSecond).toBeGreaterThan(0);
      expect(during!.etaSeconds).toBeGreaterThan(0);

      await waitFor(async () => (await readyz()).status === 503, { timeoutMs: 20_000, intervalMs: 250, message: '/readyz stayed ready while the snapshot was stalled' });
      expect((await readyz()).body).toMatch(/^resolve:erp: stalled: work in hand, no progress for \d+s/m);
      // Nothing became durable meanwhile, and the log kept saying where the load stands.
      expect((await customers())!.rowsDone).toBe(during!.rowsDone);
      const progress = lines.filter((l) => l.message === 'snapshot progress' && l.table === 'public.customers');
      expect(progress.length).toBeGreaterThan(0);
      expect(progress[progress.length - 1]).toMatchObject({ source: 'erp', state: 'in progress', rowsDone: during!.rowsDone, rowsEstimated: ROWS });
      expect(progress[progress.length - 1]!.percent).toBeCloseTo(Math.round((1000 * during!.rowsDone) / ROWS) / 10, 5);
    } finally {
      await release();
    }

    await waitFor(async () => (await customers())?.state === 'done', { timeoutMs: 120_000, intervalMs: 250, message: 'the snapshot did not finish after the stall' });
    expect(await customers()).toMatchObject({ state: 'done', rowsDone: ROWS, rowsEstimated: ROWS, etaSeconds: 0 });
    await waitFor(async () => (await readyz()).status === 200, { timeoutMs: 20_000, message: '/readyz not ready after the load' });
    // The progress loop announces a finished table at its next tick (log.progressSeconds: 1).
    await waitFor(() => lines.some((l) => l.message === 'snapshot of table done' && l.table === 'public.customers' && l.rowsDone === ROWS), {
      timeoutMs: 5_000, message: 'no "snapshot of table done" line for public.customers',
    });
    await pipeline!.drain({ timeoutMs: 120_000 });
    expect(await sql(world.crm.url, 'SELECT count(*)::int AS n FROM accounts')).toEqual([{ n: ROWS }]);
  });
});
