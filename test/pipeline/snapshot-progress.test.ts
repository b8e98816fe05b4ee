import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChangeBatch, ChangeEvent } from '../../src/capture';
import { progressLine, SnapshotProgress } from '../../src/pipeline/snapshot-progress';

function clock(startMs = 1_000_000) {
  let now = startMs;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function snapshotBatch(system: string, table: string, rows: number, completes = false): ChangeBatch {
  const events = Array.from({ length: rows }, () => ({}) as ChangeEvent);
  const batch: ChangeBatch = { system, events, position: 'p', sourceTimeMs: 0, snapshotTable: table };
  if (completes) batch.completedSnapshots = [table];
  return batch;
}

describe('snapshot progress', () => {
  it('goes waiting → in progress → done, with rate and ETA from the estimate', () => {
    const c = clock();
    const progress = new SnapshotProgress(c.now);
    progress.planned('erp', [{ table: 'public.customers', estimatedRows: 1000 }, { table: 'public.orders', estimatedRows: null }]);
    expect(progress.report().map((t) => [t.table, t.state])).toEqual([['public.customers', 'waiting'], ['public.orders', 'waiting']]);
    expect(progress.active()).toBe(true);

    c.advance(2_000);
    progress.durable(snapshotBatch('erp', 'public.customers', 200));
    const [customers, orders] = progress.report();
    // Reading began when the plan came (2 s ago): 100 rows/s, 800 to go → 8 s.
    expect(customers).toMatchObject({ state: 'in progress', rowsDone: 200, rowsEstimated: 1000, rowsPerSecond: 100, etaSeconds: 8 });
    expect(orders).toMatchObject({ state: 'waiting', rowsDone: 0, rowsEstimated: null, etaSeconds: null });
    expect(progressLine(customers!)).toMatchObject({ percent: 20, rowsPerSecond: 100, etaSeconds: 8 });

    c.advance(8_000);
    progress.durable(snapshotBatch('erp', 'public.customers', 1100, true));
    c.advance(1_000);
    progress.durable(snapshotBatch('erp', 'public.orders', 50));
    const [doneCustomers, ordersNow] = progress.report();
    // Statistics were low: the exact count replaces the estimate once done.
    expect(doneCustomers).toMatchObject({ state: 'done', rowsDone: 1300, rowsEstimated: 1300, etaSeconds: 0 });
    expect(doneCustomers!.finishedAt).not.toBeNull();
    // orders began when customers finished, 1 s ago.
    expect(ordersNow).toMatchObject({ state: 'in progress', rowsDone: 50, rowsPerSecond: 50, etaSeconds: null });

    progress.durable({ system: 'erp', events: [], position: 'p2', sourceTimeMs: 0, snapshotTable: 'public.orders', completedSnapshots: ['public.orders'] });
    expect(progress.active()).toBe(false);
    expect(progress.report().every((t) => t.state === 'done')).toBe(true);
  });

  it('ignores streamed batches and restarts a table a restarted source reads again', () => {
    const progress = new SnapshotProgress();
    progress.planned('shop', [{ table: 'shop.items', estimatedRows: 10 }]);
    progress.durable({ system: 'shop', events: [{} as ChangeEvent], position: 'x', sourceTimeMs: 0 });
    expect(progress.report()[0]).toMatchObject({ rowsDone: 0, state: 'waiting' });
    progress.durable(snapshotBatch('shop', 'shop.items', 4));
    progress.planned('shop', [{ table: 'shop.items', estimatedRows: 10 }]);
    expect(progress.report()[0]).toMatchObject({ rowsDone: 0, state: 'waiting' });
  });

  it('never reports fewer rows estimated than done, nor a negative ETA (any batch sizes, any estimate)', () => {
    fc.assert(fc.property(
      fc.option(fc.nat(5_000), { nil: null }), fc.array(fc.record({ rows: fc.nat(500), ms: fc.nat(3_000) }), { maxLength: 20 }),
      (estimate, batches) => {
        const c = clock();
        const progress = new SnapshotProgress(c.now);
        progress.planned('erp', [{ table: 't', estimatedRows: estimate }]);
        let done = 0;
        for (const b of batches) {
          c.advance(b.ms);
          progress.durable(snapshotBatch('erp', 't', b.rows));
          done += b.rows;
          const [t] = progress.report();
          expect(t!.rowsDone).toBe(done);
          if (t!.rowsEstimated !== null) expect(t!.rowsEstimated).toBeGreaterThanOrEqual(done);
          if (t!.etaSeconds !== null) expect(t!.etaSeconds).toBeGreaterThanOrEqual(0);
          expect(Number.isFinite(t!.rowsPerSecond)).toBe(true);
        }
      },
    ));
  });
});
