/**
 * Row estimates of the PostgreSQL snapshot plan, from the catalogue only:
 * pg_class.reltuples once the table was analysed (or vacuumed), else the
 * statistics system's live-tuple count; null for a table that is not there.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimateRows } from '../../src/capture/postgres/snapshot';
import { createPgDatabase, requireEnv, TEST_ENV, type TestDatabase } from '../support';

describe('PostgreSQL snapshot row estimates', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  let db: TestDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createPgDatabase('pgestimate', adminUrl);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('reads reltuples after ANALYZE, the live-tuple count before it, and null for a missing table', async () => {
    await client.query('CREATE SCHEMA sales; CREATE TABLE sales.analysed (id int PRIMARY KEY); CREATE TABLE public.fresh (id int PRIMARY KEY)');
    await client.query('INSERT INTO sales.analysed SELECT g FROM generate_series(1, 750) g');
    await client.query('INSERT INTO public.fresh SELECT g FROM generate_series(1, 420) g');
    await client.query('ANALYZE sales.analysed');
    // Make this session's counts visible to the statistics views now rather than within a second.
    await client.query('SELECT pg_stat_force_next_flush()');
    await client.query('SELECT 1');
    const reltuples = await client.query<{ table: string; n: number }>(`SELECT relname AS table, reltuples AS n FROM pg_class WHERE relname IN ('analysed', 'fresh') ORDER BY relname`);
    expect(reltuples.rows).toEqual([{ table: 'analysed', n: 750 }, { table: 'fresh', n: -1 }]);

    expect(await estimateRows(client, ['sales.analysed', 'public.fresh', 'public.missing'])).toEqual([
      { table: 'sales.analysed', estimatedRows: 750 },
      { table: 'public.fresh', estimatedRows: 420 },
      { table: 'public.missing', estimatedRows: null },
    ]);
  });
});
