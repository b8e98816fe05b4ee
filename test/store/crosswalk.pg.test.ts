import type { Knex } from 'knex';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStateStore, CrosswalkCache, crosswalkMapKey, KnexCrosswalk, migrateStateStore } from '../../src/store';
import { newCanonicalKey } from '../../src/transform';
import { createPgDatabase, requireEnv, type TestDatabase } from '../support';

const schema = 'tandem';

describe('crosswalk on PostgreSQL', () => {
  requireEnv('TANDEM_TEST_PG_URL');
  let db: TestDatabase;
  let knex: Knex;

  beforeAll(async () => {
    db = await createPgDatabase('crosswalk');
    knex = connectStateStore(db.url, 4);
    await migrateStateStore(knex, schema);
    // Statistics of an empty table, as a fresh install has them.
    await knex.raw('ANALYZE ??.crosswalk', [schema]);
  });
  afterAll(async () => {
    await knex?.destroy();
    await db?.drop();
  });

  it('finds or links keys of several entities and systems in one go, keeping links made before', async () => {
    const cache = new CrosswalkCache();
    const crosswalk = new KnexCrosswalk(knex, schema, cache);
    await crosswalk.linkMany([
      { entity: 'customer', system: 'erp', localKey: 'C1', canonicalKey: 'erp:C1' },
      { entity: 'customer', system: 'crm', localKey: 'acc-9', canonicalKey: 'erp:C2' },
    ]);
    const wanted = [
      { entity: 'customer', system: 'erp', localKey: 'C1' },
      { entity: 'customer', system: 'crm', localKey: 'acc-9' },
      { entity: 'customer', system: 'crm', localKey: 'acc-10' },
      { entity: 'order', system: 'erp', localKey: '__proto__' },
      { entity: 'order', system: 'erp', localKey: 'ü 1' },
      { entity: 'order', system: 'erp', localKey: 'ü 1' },
    ];
    let seen = new Map<string, string>();
    await knex.transaction(async (trx) => {
      const inTx = new KnexCrosswalk(knex, schema, new CrosswalkCache()).withTransaction(trx);
      seen = await inTx.canonicalKeysOrLink(wanted, newCanonicalKey);
    });
    expect(Object.fromEntries(seen)).toEqual({
      [crosswalkMapKey('customer', 'erp', 'C1')]: 'erp:C1',
      [crosswalkMapKey('customer', 'crm', 'acc-9')]: 'erp:C2',
      [crosswalkMapKey('customer', 'crm', 'acc-10')]: 'crm:acc-10',
      [crosswalkMapKey('order', 'erp', '__proto__')]: 'erp:__proto__',
      [crosswalkMapKey('order', 'erp', 'ü 1')]: 'erp:ü 1',
    });
    const stored = await knex.withSchema(schema).table('crosswalk').orderBy(['entity', 'system', 'local_key']).select('entity', 'system', 'local_key', 'canonical_key');
    expect(stored).toEqual([
      { entity: 'customer', system: 'crm', local_key: 'acc-10', canonical_key: 'crm:acc-10' },
      { entity: 'customer', system: 'crm', local_key: 'acc-9', canonical_key: 'erp:C2' },
      { entity: 'customer', system: 'erp', local_key: 'C1', canonical_key: 'erp:C1' },
      { entity: 'order', system: 'erp', local_key: '__proto__', canonical_key: 'erp:__proto__' },
      { entity: 'order', system: 'erp', local_key: 'ü 1', canonical_key: 'erp:ü 1' },
    ].sort((a, b) => (`${a.entity} ${a.system} ${a.local_key}` < `${b.entity} ${b.system} ${b.local_key}` ? -1 : 1)));
    const fresh = new KnexCrosswalk(knex, schema);
    expect(Object.fromEntries(await fresh.localKeys('customer', 'crm', ['erp:C2', 'crm:acc-10', 'nope']))).toEqual({ 'erp:C2': 'acc-9', 'crm:acc-10': 'acc-10' });
    expect(Object.fromEntries(await fresh.canonicalKeys('order', 'erp', ['__proto__', 'ü 1', 'x']))).toEqual({ ['__proto__']: 'erp:__proto__', 'ü 1': 'erp:ü 1' });
  });

  it('remembers links a transaction made only once it commits', async () => {
    const cache = new CrosswalkCache();
    const crosswalk = new KnexCrosswalk(knex, schema, cache);
    await knex.transaction(async (trx) => {
      const inTx = crosswalk.withTransaction(trx);
      await inTx.canonicalKeysOrLink([{ entity: 'item', system: 'shop', localKey: 'rolled-back' }], newCanonicalKey);
      expect(cache.canonical('item', 'shop', 'rolled-back')).toBeUndefined();
      throw new Error('roll back');
    }).catch(() => {});
    expect(cache.canonical('item', 'shop', 'rolled-back')).toBeUndefined();
    expect(await crosswalk.canonicalKeys('item', 'shop', ['rolled-back'])).toEqual(new Map());
    await knex.transaction(async (trx) => {
      const inTx = crosswalk.withTransaction(trx);
      const committed = inTx.committedLinks();
      await inTx.canonicalKeysOrLink([{ entity: 'item', system: 'shop', localKey: 'kept' }], newCanonicalKey);
      await trx.commit();
      committed.remember();
    });
    expect(cache.canonical('item', 'shop', 'kept')).toBe('shop:kept');
  });

  it('looks keys up by an index probe per key on a table analysed while empty and filled since', async () => {
    await knex.raw(`INSERT INTO ??.crosswalk (entity, system, local_key, canonical_key)
      SELECT 'bulk', 'src', g::text, 'src:' || g FROM generate_series(1, 20000) g`, [schema]);
    // The exact statement the lookup sends, explained.
    const sent: Array<{ sql: string; bindings: unknown[] }> = [];
    const listen = (q: { sql: string; bindings: unknown[] }) => sent.push(q);
    knex.on('query', listen);
    const found = await new KnexCrosswalk(knex, schema).canonicalKeys('bulk', 'src', ['1', '19999', '20001']);
    knex.off('query', listen);
    expect(Object.fromEntries(found)).toEqual({ 1: 'src:1', 19999: 'src:19999' });
    expect(sent).toHaveLength(1);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query(`EXPLAIN ${sent[0]!.sql}`, sent[0]!.bindings);
    await client.end();
    const plan = rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/Index (Only )?Scan using crosswalk_pkey/);
    expect(plan).not.toMatch(/Seq Scan on crosswalk/);
  });
});
