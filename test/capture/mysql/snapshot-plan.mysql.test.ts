/**
 * Snapshot progress from the native MySQL/MariaDB source: before the first row
 * it tells the tables it will read with the row counts the statistics
 * estimate (information_schema TABLES.TABLE_ROWS), and each snapshot batch
 * names its table, so the pipeline can count rows done per table.
 */
import type mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import type { SnapshotPlanEntry } from '../../../src/capture';
import { createMysqlDatabase, requireEnv, TEST_ENV, waitFor, type TestDatabase } from '../../support';
import { Collector, connectTo } from './helpers';

describe('native MySQL/MariaDB source: snapshot plan and per-table batches', () => {
  const adminUrl = requireEnv(TEST_ENV.mysql);
  const dbs: TestDatabase[] = [];
  const conns: mysql.Connection[] = [];

  afterAll(async () => {
    await Promise.all(conns.map((c) => c.end().catch(() => undefined)));
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it('announces each table with its estimated rows before reading, and labels every snapshot batch with its table', async () => {
    const db = await createMysqlDatabase('snapplan', adminUrl);
    dbs.push(db);
    const conn = await connectTo(db.url);
    conns.push(conn);
    await conn.query('CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40)) ENGINE=InnoDB; CREATE TABLE empty_one (id INT PRIMARY KEY) ENGINE=InnoDB');
    const values = Array.from({ length: 1200 }, (_, i) => `(${i + 1}, 'item ${i + 1}')`).join(',');
    await conn.query(`INSERT INTO items VALUES ${values}`);
    await conn.query('ANALYZE TABLE items, empty_one');

    const plans: SnapshotPlanEntry[][] = [];
    let batchesWhenPlanned = -1;
    const tables = [`${db.name}.items`, `${db.name}.empty_one`];
    const c: Collector = new Collector({
      connectionString: db.url, tables, snapshot: 'initial', maxBatchEvents: 500,
      onSnapshotPlanned: (plan) => {
        plans.push(plan);
        batchesWhenPlanned = c?.batches.length ?? 0;
      },
    });
    try {
      await c.waitForEvents(1200);
      await waitFor(() => c.batches.some((b) => b.completedSnapshots?.includes(`${db.name}.empty_one`)), { timeoutMs: 30_000, message: 'empty_one never completed' });
      expect(plans).toHaveLength(1);
      expect(batchesWhenPlanned).toBe(0);
      const [items, empty] = plans[0]!;
      expect(items!.table).toBe(`${db.name}.items`);
      // InnoDB's TABLE_ROWS is a sampled estimate: near the count, not necessarily equal.
      expect(items!.estimatedRows).toBeGreaterThan(600);
      expect(items!.estimatedRows).toBeLessThan(2400);
      expect(empty).toEqual({ table: `${db.name}.empty_one`, estimatedRows: 0 });

      const snapshotBatches = c.batches.filter((b) => b.snapshotTable !== undefined);
      const rowsPerTable = new Map<string, number>();
      for (const b of snapshotBatches) rowsPerTable.set(b.snapshotTable!, (rowsPerTable.get(b.snapshotTable!) ?? 0) + b.events.length);
      expect(Object.fromEntries(rowsPerTable)).toEqual({ [`${db.name}.items`]: 1200, [`${db.name}.empty_one`]: 0 });
      for (const b of snapshotBatches) for (const e of b.events) expect(`${e.source.schema}.${e.source.table}`).toBe(b.snapshotTable);
      expect(snapshotBatches.flatMap((b) => b.completedSnapshots ?? [])).toEqual(tables);
    } finally {
      await c.stop();
    }
  });
});
