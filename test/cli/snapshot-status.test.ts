import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { snapshotStatusCells, snapshotStatusOf } from '../../src/cli/snapshot-status';
import { createMetrics, type SnapshotGaugeRow } from '../../src/metrics';

const probes = (rows: SnapshotGaugeRow[]) => ({
  lagSeconds: () => ({}), retainedBytes: async () => ({}), outboxDepth: async () => 0, deadLettersOpen: async () => 0, snapshots: () => rows,
});

describe('snapshot progress in tandem status', () => {
  it('reads back what the snapshot gauges export', async () => {
    const metrics = createMetrics(probes([
      { source: 'erp', table: 'public.customers', state: 1, rowsDone: 250, rowsEstimated: 1000, rowsPerSecond: 50, etaSeconds: 15 },
      { source: 'erp', table: 'public.orders', state: 0, rowsDone: 0, rowsEstimated: null, rowsPerSecond: 0, etaSeconds: null },
      { source: 'shop', table: 'shop.items', state: 2, rowsDone: 7, rowsEstimated: 7, rowsPerSecond: 7, etaSeconds: 0 },
    ]));
    const rows = snapshotStatusOf(await metrics.registry.metrics());
    expect(rows).toEqual([
      { source: 'erp', table: 'public.customers', state: 'in progress', rowsDone: 250, rowsEstimated: 1000, rowsPerSecond: 50, etaSeconds: 15 },
      { source: 'erp', table: 'public.orders', state: 'waiting', rowsDone: 0, rowsEstimated: null, rowsPerSecond: 0, etaSeconds: null },
      { source: 'shop', table: 'shop.items', state: 'done', rowsDone: 7, rowsEstimated: 7, rowsPerSecond: 7, etaSeconds: 0 },
    ]);
    expect(snapshotStatusCells(rows[0]!)).toEqual(['erp', 'public.customers', 'in progress', '250 / 1000 (25.0%)', '50/s', '15s']);
    expect(snapshotStatusCells(rows[1]!)).toEqual(['erp', 'public.orders', 'waiting', '0 / ?', '0/s', '?']);
  });

  it('round-trips any source and table name through the exposition format', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ minLength: 1, maxLength: 30 }), fc.nat(10_000), async (source, table, done) => {
      const metrics = createMetrics(probes([{ source, table, state: 1, rowsDone: done, rowsEstimated: done + 1, rowsPerSecond: 1, etaSeconds: 1 }]));
      const [row] = snapshotStatusOf(await metrics.registry.metrics());
      expect(row).toMatchObject({ source, table, rowsDone: done, rowsEstimated: done + 1 });
    }), { numRuns: 50 });
  });

  it('is empty when no snapshot ran', async () => {
    expect(snapshotStatusOf(await createMetrics(probes([])).registry.metrics())).toEqual([]);
  });
});
