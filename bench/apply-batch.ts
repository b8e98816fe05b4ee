/**
 * Micro-benchmark of SqlTarget: 20,000 update tasks against a 20,000-row
 * PostgreSQL table, `apply()` per task versus `applyBatch()` in chunks of
 * 100, both 4 at a time. The crosswalk is the real one (KnexCrosswalk in a
 * state-store schema of the same server). Not part of the test suite.
 *
 *   npx tsx bench/apply-batch.ts [rows]
 *
 * Needs the development servers (`npm run services:start`).
 */
import { readFileSync } from 'node:fs';
import knex from 'knex';
import pg from 'pg';
import { SqlTarget, type ApplyTask } from '../src/apply';
import { mappingSpec } from '../src/config/spec';
import { KnexCrosswalk } from '../src/store';
import { compileMapping } from '../src/transform';
import { createPgDatabase } from '../test/support/pg';
import { uniqueName } from '../test/support/names';

const ROWS = Number(process.argv[2] ?? 20_000);
const CHUNK = 100;
const CONCURRENCY = 4;

function pgUrl(): string {
  if (process.env['TANDEM_TEST_PG_URL']) return process.env['TANDEM_TEST_PG_URL'];
  const env = readFileSync('.tandem/services/env', 'utf8');
  const m = /TANDEM_TEST_PG_URL=(\S+)/.exec(env);
  if (!m?.[1]) throw new Error('TANDEM_TEST_PG_URL not set and .tandem/services/env has none');
  return m[1];
}

async function forEachConcurrently<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function main(): Promise<void> {
  const adminUrl = pgUrl();
  const db = await createPgDatabase('bench_apply', adminUrl);
  const origin = uniqueName('bench_origin');
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const store = knex({ client: 'pg', connection: db.url, pool: { min: 0, max: CONCURRENCY } });
  const target = new SqlTarget({ system: 'erp', type: 'postgres', connectionString: db.url, origin, conditional: true, poolSize: CONCURRENCY });
  try {
    await client.query(`
      CREATE TABLE customers (cust_no text PRIMARY KEY, name text, city text, credit numeric(12,2), updated_at timestamptz);
      INSERT INTO customers SELECT 'C' || i, 'name ' || i, 'city', 0, now() FROM generate_series(1, ${ROWS}) i;
      CREATE SCHEMA state;
      CREATE TABLE state.crosswalk (entity text, system text, local_key text, canonical_key text, created_at timestamptz DEFAULT now(),
        PRIMARY KEY (entity, system, local_key), UNIQUE (entity, system, canonical_key));
      INSERT INTO state.crosswalk (entity, system, local_key, canonical_key) SELECT 'customer', 'erp', 'C' || i, 'crm:C' || i FROM generate_series(1, ${ROWS}) i;
      ANALYZE;`);
    const mapping = compileMapping(mappingSpec.parse({
      system: 'erp', table: 'public.customers', entity: 'customer', key: { columns: ['cust_no'] },
      fields: { number: 'cust_no', name: 'name', city: 'city', credit: { column: 'credit', convert: [{ decimal: { scale: 2 } }] }, updated_at: 'updated_at' },
    }));
    const ctx = { mapping, crosswalk: new KnexCrosswalk(store, 'state'), refMappings: () => undefined };
    let seq = 0;
    const tasks = (pass: string): ApplyTask[] => Array.from({ length: ROWS }, (_, i) => {
      const fields = { name: `${pass} ${i + 1}`, credit: String((i % 1000) / 10), updated_at: new Date(Date.UTC(2024, 0, 1, 0, 0, i % 60)).toISOString() };
      return {
        id: String(++seq), target: 'erp', entity: 'customer', key: `crm:C${i + 1}`, op: 'upsert', fields, expected: {}, record: fields,
        reason: 'propagate', correlationId: `bench@${seq}`, attempts: 0, createdAtMs: Date.now(),
      };
    });
    const time = async (label: string, run: () => Promise<number>) => {
      const started = performance.now();
      const failures = await run();
      const seconds = (performance.now() - started) / 1000;
      console.log(`${label.padEnd(44)} ${ROWS} tasks in ${seconds.toFixed(2)} s = ${Math.round(ROWS / seconds).toString().padStart(6)} tasks/s (${failures} failed)`);
    };

    await target.applyBatch(tasks('warm-up').slice(0, 200), ctx); // pool, origin slots, catalog
    await time(`apply() per task, ${CONCURRENCY} at a time`, async () => {
      let failures = 0;
      await forEachConcurrently(tasks('one'), CONCURRENCY, async (task) => {
        await target.apply(task, ctx).catch(() => failures++);
      });
      return failures;
    });
    await time(`applyBatch() chunks of ${CHUNK}, ${CONCURRENCY} at a time`, async () => {
      const all = tasks('batch');
      const chunks = Array.from({ length: Math.ceil(all.length / CHUNK) }, (_, i) => all.slice(i * CHUNK, (i + 1) * CHUNK));
      let failures = 0;
      await forEachConcurrently(chunks, CONCURRENCY, async (chunk) => {
        failures += (await target.applyBatch(chunk, ctx)).filter((r) => r.error !== undefined).length;
      });
      return failures;
    });
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM customers WHERE name LIKE 'batch %'`);
    console.log(`rows holding the batch pass's values: ${rows[0].n} of ${ROWS}`);
  } finally {
    await target.close();
    await store.destroy();
    await client.end();
    await db.drop();
    await dropOrigins(adminUrl, origin);
  }
}

async function dropOrigins(adminUrl: string, origin: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ roname: string }>(`SELECT roname FROM pg_replication_origin WHERE roname = $1 OR roname LIKE $1 || ':%'`, [origin]);
    for (const { roname } of rows) await admin.query('SELECT pg_replication_origin_drop($1)', [roname]).catch(() => undefined);
  } finally {
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
