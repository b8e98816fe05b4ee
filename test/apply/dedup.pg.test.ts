import knex, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreDedup } from '../../src/apply';
import { up } from '../../src/store/migrations/001_initial';
import { createPgDatabase, requireEnv, TEST_ENV, type TestDatabase } from '../support';

describe('StoreDedup (state store)', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const schema = 'tandem';
  let db: TestDatabase;
  let store: Knex;
  let dedup: StoreDedup;

  beforeAll(async () => {
    db = await createPgDatabase('apply_dedup', adminUrl);
    store = knex({ client: 'pg', connection: db.url, pool: { min: 0, max: 2 } });
    await up(store, schema);
    dedup = new StoreDedup({ db: store, schema });
  });

  afterAll(async () => {
    await dedup?.close();
    await store?.destroy();
    await db?.drop();
  });

  it('is the state-store kind', () => {
    expect(dedup.kind).toBe('state-store');
  });

  it('marks and finds events in batches, duplicates included', async () => {
    expect(await dedup.seenEvents([])).toEqual(new Set());
    await dedup.markEvents(['e1', 'e2', 'e2', 'e3']);
    expect(await dedup.seenEvents(['e0', 'e1', 'e3', 'e4'])).toEqual(new Set(['e1', 'e3']));
    await dedup.markEvents(['e3', 'e4']);
    const many = Array.from({ length: 2500 }, (_, i) => `bulk-${i}`);
    await dedup.markEvents(many);
    expect((await dedup.seenEvents([...many, 'nope'])).size).toBe(2500);
  });

  it('remembers applied tasks', async () => {
    expect((await dedup.appliedTasks(['t1'])).has('t1')).toBe(false);
    await dedup.markApplied(['t1']);
    await dedup.markApplied(['t1']);
    expect((await dedup.appliedTasks(['t1'])).has('t1')).toBe(true);
    // Events and tasks are separate namespaces.
    expect((await dedup.appliedTasks(['e1'])).has('e1')).toBe(false);
  });

  it('prunes marks older than a given time', async () => {
    await store.withSchema(schema).table('dedup').insert({ kind: 'event', id: 'ancient', created_at: new Date('2000-01-01T00:00:00Z') });
    expect(await dedup.seenEvents(['ancient'])).toEqual(new Set(['ancient']));
    expect(await dedup.prune(new Date(Date.now() - 24 * 3600 * 1000))).toBe(1);
    expect(await dedup.seenEvents(['ancient', 'e1'])).toEqual(new Set(['e1']));
  });
});
