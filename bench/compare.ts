/**
 * `tandem compare` benchmark (issue 8): one entity of N rows (default
 * 1,000,000) in two PostgreSQL databases, the state store filled as the
 * pipeline would have left it (a record and two crosswalk links per row),
 * 0.1 % drift planted in the target (fields altered, rows deleted, rows
 * inserted on one side only).
 *
 *   npx tsx bench/compare.ts                       # 1,000,000 rows, about 3–5 minutes with set-up
 *   npx tsx bench/compare.ts --rows 200000 --skip-stream   # or --only-stream
 *
 * Runs, in one process against the same data:
 *   1. pushdown   tandem compare as configured: range hashes in both databases, differing ranges read row by row
 *   2. md5        baseline: SELECT md5(string_agg(row::text, '' ORDER BY key)) over each whole table
 *                 (says only "equal or not", finds nothing)
 *   3. stream     baseline: tandem compare --no-pushdown (every record, every row, read and judged in Node)
 * Each prints wall time, rows/s and peak RSS; 1 and 3 must find exactly the planted drift.
 * Needs the development servers (`npm run services:start`); every database it makes is dropped at the end.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { runCompare, type CompareReport } from '../src/compare';
import { parseConfig } from '../src/config';
import { connectStateStore, migrateStateStore } from '../src/store';
import { createPgDatabase, type TestDatabase } from '../test/support/pg';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: argv } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    drift: { type: 'string', default: '0.001' },
    'skip-stream': { type: 'boolean', default: false },
    /** Only the streamed baseline (profiling the row-by-row path). */
    'only-stream': { type: 'boolean', default: false },
  },
});
const ROWS = Number(argv.rows);
const DRIFT = Number(argv.drift);

function servicesEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const file of [join(ROOT, '.tandem', 'services', 'env'), '/work/main/.tandem/services/env']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^\s*(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line);
      if (m) env[m[1]!] ??= m[2]!.trim().replace(/^(['"])(.*)\1$/, '$2');
    }
  }
  return env;
}
const PG_URL = process.env.TANDEM_TEST_PG_URL || servicesEnv().TANDEM_TEST_PG_URL;
if (!PG_URL) {
  console.error('TANDEM_TEST_PG_URL is not set and .tandem/services/env is missing: run `npm run services:start` first.');
  process.exit(2);
}

const DDL = `CREATE TABLE items (id bigint PRIMARY KEY, sku text NOT NULL, title text, price numeric(12,2), qty integer, active boolean, updated timestamptz)`;
const FILL = `INSERT INTO items SELECT n * 2, 'SKU-' || n, 'item number ' || n, (n % 10000) * 1.25, n % 500, n % 3 = 0, timestamptz '2025-01-01' + n * interval '1 second'
  FROM generate_series(1, $1) n`;

const CONFIG = `
stateStore: { url: { env: BENCH_STATE_URL }, schema: tandem }
systems:
  erp: { type: postgres, url: { env: BENCH_ERP_URL } }
  shop: { type: postgres, url: { env: BENCH_SHOP_URL } }
entities:
  item: { owner: erp }
mappings:
${['erp', 'shop'].map((system) => `  - system: ${system}
    table: public.items
    entity: item
    key: { columns: [id] }
    fields: { id: id, sku: sku, title: title, price: { column: price, convert: [{ decimal: { scale: 2 } }] }, qty: qty, active: active, updated: updated }`).join('\n')}
`;

async function sql(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, params);
  } finally {
    await client.end();
  }
}

/** Peak RSS over a stretch of the run, sampled every 50 ms. */
async function measured<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number; peakRssMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const started = process.hrtime.bigint();
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRssMb: Math.round(peak / 1024 / 1024) };
  } finally {
    clearInterval(timer);
  }
}

function found(report: CompareReport): string {
  const [e] = report.entities;
  return `${e!.recordsMismatched} records mismatched (field ${e!.byKind.field}, missing ${e!.byKind.missing}, unlinked ${e!.byKind.unlinked}); ${e!.rowsRead} rows read, ${e!.rowsHashed} proved equal by hashes`;
}

async function main(): Promise<void> {
  const dbs: TestDatabase[] = [];
  try {
    const [erp, shop, state] = await Promise.all(['bench_cmp_erp', 'bench_cmp_shop', 'bench_cmp_state'].map((p) => createPgDatabase(p, PG_URL)));
    dbs.push(erp!, shop!, state!);
    const env = { ...process.env, BENCH_ERP_URL: erp!.url, BENCH_SHOP_URL: shop!.url, BENCH_STATE_URL: state!.url };
    const loaded = parseConfig(CONFIG, '/virtual/bench-compare.yaml', env);
    const store = connectStateStore(state!.url, 4);
    await migrateStateStore(store, 'tandem');

    console.log(`set-up: ${ROWS} rows in each database, a record and two crosswalk links per row…`);
    const setup = Date.now();
    await Promise.all([erp!, shop!].map(async (db) => {
      await sql(db.url, DDL);
      await sql(db.url, FILL, [ROWS]);
      await sql(db.url, 'VACUUM ANALYZE items');
    }));
    await sql(state!.url, `INSERT INTO tandem.records (entity, key, fields, version)
      SELECT 'item', 'erp:' || id, jsonb_build_object('id', id::text, 'sku', sku, 'title', title, 'price', price::text, 'qty', qty, 'active', active,
        'updated', to_char(updated AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')), 1 FROM dblink_items`.replace('dblink_items', `(SELECT n * 2 AS id, 'SKU-' || n AS sku, 'item number ' || n AS title, (n % 10000) * 1.25 AS price, n % 500 AS qty, n % 3 = 0 AS active, timestamptz '2025-01-01' + n * interval '1 second' AS updated FROM generate_series(1, ${ROWS}) n) s`));
    await sql(state!.url, `INSERT INTO tandem.crosswalk (entity, system, local_key, canonical_key)
      SELECT 'item', s, (n * 2)::text, 'erp:' || (n * 2) FROM generate_series(1, ${ROWS}) n, unnest(ARRAY['erp', 'shop']) s`);
    await sql(state!.url, 'VACUUM ANALYZE tandem.records; ');
    await sql(state!.url, 'VACUUM ANALYZE tandem.crosswalk');
    console.log(`  ${((Date.now() - setup) / 1000).toFixed(1)} s`);

    // 0.1 % drift: 60 % altered fields, 20 % rows deleted, 20 % rows only in the target (odd keys between the even ones).
    const planted = Math.round(ROWS * DRIFT);
    const [altered, deleted, inserted] = [Math.round(planted * 0.6), Math.round(planted * 0.2), planted - Math.round(planted * 0.6) - Math.round(planted * 0.2)];
    await sql(shop!.url, `UPDATE items SET title = title || ' (edited)' WHERE id IN (SELECT (1 + floor(random() * $1))::bigint * 2 FROM generate_series(1, $2 * 3) LIMIT $2)`, [ROWS, altered]);
    const actuallyAltered = Number((await sql(shop!.url, `SELECT count(*) FROM items WHERE title LIKE '%(edited)'`)).rows[0].count);
    await sql(shop!.url, `DELETE FROM items WHERE id IN (SELECT id FROM items WHERE title NOT LIKE '%(edited)' ORDER BY random() LIMIT $1)`, [deleted]);
    await sql(shop!.url, `INSERT INTO items SELECT k, 'SKU-X' || k, 'only here', 1, 1, true, now() FROM (SELECT DISTINCT (floor(random() * $1))::bigint * 2 + 1 AS k FROM generate_series(1, $2 * 2)) s LIMIT $2`, [ROWS, inserted]);
    await sql(shop!.url, 'VACUUM ANALYZE items');
    console.log(`drift planted in the target: ${actuallyAltered} rows altered, ${deleted} deleted, ${inserted} inserted (${actuallyAltered + deleted + inserted} = ${((100 * (actuallyAltered + deleted + inserted)) / ROWS).toFixed(3)} %)`);
    const expected = actuallyAltered + deleted + inserted;

    const results: Array<{ run: string; seconds: number; rowsPerSecond: number; peakRssMb: number; found: string }> = [];
    const show = (r: (typeof results)[number]) =>
      `  ${r.run.padEnd(38)} ${r.seconds.toFixed(2).padStart(7)} s  ${Math.round(r.rowsPerSecond).toLocaleString('en-US').padStart(10)} rows/s  peak RSS ${String(r.peakRssMb).padStart(4)} MiB  ${r.found}`;
    const push = results.push.bind(results);
    results.push = (...items) => {
      for (const item of items) console.log(show(item));
      return push(...items);
    };
    if (!argv['only-stream']) {
      const pushdown = await measured(() => runCompare({ loaded, store, env, limit: 0 }));
      results.push({ run: 'pushdown (tandem compare)', seconds: pushdown.seconds, rowsPerSecond: ROWS / pushdown.seconds, peakRssMb: pushdown.peakRssMb, found: found(pushdown.result) });
      if (pushdown.result.entities[0]!.recordsMismatched !== expected) throw new Error(`pushdown found ${found(pushdown.result)}, expected ${expected} records`);
    }

    const md5 = await measured(async () => Promise.all([erp!, shop!].map(async (db) => (await sql(db.url, `SELECT md5(string_agg(t::text, '' ORDER BY id)) AS h FROM items t`)).rows[0].h as string)));
    results.push({ run: 'baseline: md5(string_agg) per table', seconds: md5.seconds, rowsPerSecond: ROWS / md5.seconds, peakRssMb: md5.peakRssMb, found: md5.result[0] === md5.result[1] ? 'tables equal' : 'tables differ (nothing located)' });

    if (!argv['skip-stream']) {
      const stream = await measured(() => runCompare({ loaded, store, env, limit: 0, pushdown: false, pageSize: 5000 }));
      results.push({ run: 'baseline: streamed (--no-pushdown)', seconds: stream.seconds, rowsPerSecond: ROWS / stream.seconds, peakRssMb: stream.peakRssMb, found: found(stream.result) });
      if (stream.result.entities[0]!.recordsMismatched !== expected) throw new Error(`stream found ${found(stream.result)}, expected ${expected} records`);
    }
    await store.destroy();

    console.log(`\ncompare of ${ROWS} rows per side, ${expected} records drifted:`);
    for (const r of results) console.log(show(r));
  } finally {
    await Promise.all(dbs.map((db) => db.drop().catch(() => undefined)));
  }
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
