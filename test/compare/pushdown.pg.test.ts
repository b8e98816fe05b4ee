/**
 * The hash push-down alone, on two PostgreSQL tables: across first-level
 * chunks (a tiny chunk size here), every key whose row differs comes back
 * among the rows read, and the ranges that agree are counted as hashed.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { differingRows, PgTableReader, pushdownPlan } from '../../src/compare';
import { mappingSpec } from '../../src/config';
import { compileMapping } from '../../src/transform';
import { exec } from '../e2e/harness';
import { createPgDatabase, requireEnv, TEST_ENV, type TestDatabase } from '../support';

const DDL = 'CREATE TABLE items (id integer PRIMARY KEY, title text, qty numeric(10,2))';
const spec = (system: string) => mappingSpec.parse({ system, table: 'public.items', entity: 'item', key: { columns: ['id'] }, fields: { id: 'id', title: 'title', qty: 'qty' } });

describe('hash push-down across chunks (PostgreSQL)', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  let a: TestDatabase;
  let b: TestDatabase;
  beforeAll(async () => {
    [a, b] = await Promise.all([createPgDatabase('pd_a', adminUrl), createPgDatabase('pd_b', adminUrl)]);
  });
  afterAll(async () => Promise.all([a?.drop(), b?.drop()]));

  it('reads exactly the ranges that hold the drift, wherever it falls', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 0, max: 3000 }),
      fc.uniqueArray(fc.integer({ min: -50, max: 3100 }), { maxLength: 15 }),
      fc.integer({ min: 1, max: 5 }),
      async (rows, drifted, chunk) => {
        await exec(a.url, 'DROP TABLE IF EXISTS items', DDL, `INSERT INTO items SELECT n, 'item ' || n, n FROM generate_series(1, ${rows}) n`, 'ANALYZE items');
        await exec(b.url, 'DROP TABLE IF EXISTS items', DDL, `INSERT INTO items SELECT n, 'item ' || n, n FROM generate_series(1, ${rows}) n`, 'ANALYZE items');
        // Each drifted key: altered where both have it, deleted in b if even, else inserted in b.
        for (const k of drifted) {
          if (k >= 1 && k <= rows) await exec(b.url, k % 2 === 0 ? `DELETE FROM items WHERE id = ${k}` : `UPDATE items SET qty = -1 WHERE id = ${k}`);
          else await exec(b.url, `INSERT INTO items VALUES (${k}, 'only b', 0)`);
        }
        const [ra, rb] = await Promise.all([
          PgTableReader.open('a', compileMapping(spec('a')), a.url), PgTableReader.open('b', compileMapping(spec('b')), b.url),
        ]);
        try {
          const plan = pushdownPlan(spec('a'), spec('b'), ra, rb);
          if (typeof plan === 'string') throw new Error(plan);
          plan.firstChunk = chunk;
          const progress = { rows: 0, rowsHashed: 0 };
          const read = new Set<number>();
          let rowsRead = 0;
          for await (const batch of differingRows(plan, progress)) {
            for (const row of [...batch.a, ...batch.b]) read.add(Number(row.id));
            rowsRead += batch.a.length + batch.b.length;
          }
          for (const k of drifted) expect(read.has(k), `drifted key ${k} not read`).toBe(true);
          expect(progress.rows).toBe(Math.max(rows, rows - drifted.filter((k) => k >= 1 && k <= rows && k % 2 === 0).length + drifted.filter((k) => k < 1 || k > rows).length));
          // Only ranges holding drift are read: at most two ranges' worth of rows per drifted key and side.
          expect(rowsRead).toBeLessThanOrEqual(drifted.length * 4 * 64 + 4);
          expect(progress.rowsHashed + new Set([...read].filter((k) => k >= 1 && k <= rows)).size).toBeGreaterThanOrEqual(rows);
        } finally {
          await Promise.all([ra.close(), rb.close()]);
        }
      },
    ), { numRuns: 12 });
  }, 240_000);
});
