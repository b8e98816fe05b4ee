import fc from 'fast-check';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Value } from '../../src/capture';
import { appendJournal, connectStateStore, findSettingChange, migrateStateStore, readJournal } from '../../src/store';
import type { CanonicalChange, Fields } from '../../src/transform';
import { createPgDatabase, requireEnv, type TestDatabase } from '../support';

const schema = 'tandem';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const text = fc.string({ unit: 'binary', maxLength: 10 }).filter((s) => !s.includes('\u0000') && !LONE_SURROGATE.test(s));
const name = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'event', 'source', 'correlationId', 'ü', '日本'), text);
const value: fc.Arbitrary<Value> = fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as Value);
const fields: fc.Arbitrary<Fields> = fc.uniqueArray(fc.tuple(name, value), { selector: ([k]) => k, maxLength: 4 }).map((entries) => {
  const out: Fields = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
});

/** Changes as the resolve stage journals them: batches mostly of one system and table, sometimes mixed. */
const change = (systems: string[], tables: string[]) => fc.record({
  entity: fc.constantFrom('item', 'customer'),
  system: fc.constantFrom(...systems),
  localKey: text,
  key: text,
  kind: fc.constantFrom('upsert' as const, 'delete' as const),
  before: fc.option(fields, { nil: null }),
  after: fc.option(fields, { nil: null }),
  refs: fc.dictionary(fc.constantFrom('customer', 'order'), fc.record({ entity: fc.constantFrom('customer'), localKey: fc.option(text, { nil: null }) })),
  op: fc.constantFrom('c' as const, 'u' as const, 'd' as const, 'r' as const),
  keyColumns: fc.constantFrom<string[]>(['id'], ['a', 'b']),
  table: fc.constantFrom(...tables),
  position: fc.oneof(fc.constantFrom('0/1', '00000001AFA8E9C8:00000000'), text),
  txId: fc.option(fc.constantFrom('195043', '195044'), { nil: null }),
  commitTimeMs: fc.integer({ min: 0, max: 2 ** 42 }),
  precision: fc.option(fc.constant(1000), { nil: undefined }),
  snapshot: fc.constantFrom('false' as const, 'true' as const),
  origin: fc.option(text, { nil: null }),
  tsMs: fc.integer({ min: 0, max: 2 ** 42 }),
  ownCorrelation: fc.option(text, { nil: undefined }),
}).map((c): CanonicalChange => {
  const source = {
    system: c.system, connector: 'postgresql', database: 'db', schema: 'public', table: c.table, position: c.position,
    txId: c.txId, commitTimeMs: c.commitTimeMs, snapshot: c.snapshot, origin: c.origin,
    ...(c.precision === undefined ? {} : { commitTimePrecisionMs: c.precision }),
  };
  return {
    entity: c.entity, system: c.system, localKey: c.localKey, key: c.key, kind: c.kind, before: c.before, after: c.after, refs: c.refs,
    event: { op: c.op, before: null, after: null, unavailable: [], keyColumns: c.keyColumns, source, tsMs: c.tsMs, correlationId: c.ownCorrelation ?? `${c.system}@${c.position}` },
  };
});
const batch = fc.oneof(
  fc.array(change(['erp'], ['items']), { minLength: 1, maxLength: 8 }),
  fc.array(change(['erp', 'crm', '__proto__'], ['items', 'orders']), { minLength: 1, maxLength: 8 }),
);

describe('journal on PostgreSQL: one row per batch, what its changes share written once', () => {
  requireEnv('TANDEM_TEST_PG_URL');
  let db: TestDatabase;
  let knex: Knex;

  beforeAll(async () => {
    db = await createPgDatabase('journal');
    knex = connectStateStore(db.url, 4);
    await migrateStateStore(knex, schema);
  });
  afterAll(async () => {
    await knex?.destroy();
    await db?.drop();
  });

  const clear = () => knex.raw('TRUNCATE ??.journal_batches', [schema]);
  const readAll = async () => {
    const out: CanonicalChange[] = [];
    for await (const entry of readJournal(knex, schema)) out.push(entry.change);
    return out;
  };
  const viewed = async () => (await knex.raw(`SELECT system, entity, key, position, commit_time, change FROM ??.journal ORDER BY id`, [schema])).rows as Array<{
    system: string; entity: string; key: string; position: string; commit_time: Date; change: CanonicalChange;
  }>;

  it('gives back every change of every batch, in order, through readJournal and the journal view', async () => {
    await fc.assert(fc.asyncProperty(fc.array(batch, { minLength: 1, maxLength: 3 }), async (batches) => {
      await clear();
      for (const b of batches) await knex.transaction((trx) => appendJournal(trx, schema, b[0]!.system, b));
      const written = batches.flat();
      expect(await readAll()).toEqual(written);
      const rows = await viewed();
      expect(rows.map((r) => r.change)).toEqual(written);
      expect(rows.map((r) => [r.system, r.entity, r.key, r.position])).toEqual(written.map((c) => [c.system, c.entity, c.key, c.event.source.position]));
      rows.forEach((r, i) => expect(Math.abs(r.commit_time.getTime() - written[i]!.event.source.commitTimeMs)).toBeLessThanOrEqual(1));
    }), { numRuns: 60 });
  });

  it('reads rows written before migration 015 (whole changes, no common part)', async () => {
    await clear();
    const [old] = fc.sample(change(['erp'], ['items']), { numRuns: 1, seed: 7 });
    await knex.raw(`INSERT INTO ??.journal_batches (system, first_commit_time, changes) VALUES ('erp', now(), ?::json)`, [schema, JSON.stringify([old])]);
    expect(await readAll()).toEqual([old]);
    expect((await viewed()).map((r) => r.change)).toEqual([old]);
  });

  it('finds the journalled change that set a value (conflicts show) in rows of the new shape', async () => {
    await clear();
    const [template] = fc.sample(change(['erp'], ['items']), { numRuns: 1, seed: 11 });
    const at = (position: string, credit: string): CanonicalChange => ({
      ...template!, entity: 'customer', key: 'erp:1', after: { credit }, event: { ...template!.event, source: { ...template!.event.source, position }, correlationId: `erp@${position}` },
    });
    await knex.transaction((trx) => appendJournal(trx, schema, 'erp', [at('p1', '5.00'), at('p2', '7.00'), at('p3', '7.00')]));
    const found = await findSettingChange(knex, schema, { entity: 'customer', key: 'erp:1', field: 'credit', value: '7.00', system: 'crm', position: 'x', loggedAt: new Date() });
    expect(found?.position).toBe('p2');
  });
});
