import fc from 'fast-check';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Value } from '../../src/capture';
import { confirmShadow, connectStateStore, getRecord, migrateStateStore, readRecordsForUpdate, restoreShadow, writeRecords } from '../../src/store';
import type { CanonicalRecord, FieldProvenance, Fields } from '../../src/transform';
import { createPgDatabase, requireEnv, type TestDatabase } from '../support';

const schema = 'tandem';

/** Text jsonb can hold: no NUL, no lone surrogate (PostgreSQL refuses both; that is not the encoding's business). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const text = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => !s.includes('\u0000') && !LONE_SURROGATE.test(s));
const oddName = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', '=', '', 'f', 'ü', '日本語', '😀', 'a b', '"q"', 'p', 's'), text);
const value: fc.Arbitrary<Value> = fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as Value);
const systems = fc.uniqueArray(fc.oneof(fc.constantFrom('erp', 'crm', '__proto__', 'sys ü', '='), text.filter((s) => s.length > 0)), { minLength: 1, maxLength: 3 });

function object<T>(entries: Array<[string, T]>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

/** Records as the resolver leaves them: shadows often equal to the fields, provenance often at the system's position. */
const record = fc.tuple(systems, fc.uniqueArray(fc.tuple(oddName, value), { selector: ([k]) => k, maxLength: 6 })).chain(([sys, entries]) => {
  const fields = object(entries);
  const names = entries.map(([k]) => k);
  const position = fc.oneof(fc.constantFrom('0/1', '00000001AF880E70:00000052'), text);
  const provenanceOf = (positions: Record<string, string>) => fc.tuple(...names.map(() => fc.record({
    system: fc.constantFrom(...sys),
    commitTimeMs: fc.integer({ min: 0, max: 2 ** 42 }),
    precision: fc.option(fc.constantFrom(1000, 60_000), { nil: undefined }),
    ownPosition: fc.boolean(),
    position,
    correlation: fc.option(text, { nil: undefined }),
  }))).map((ps) => object(ps.map((p, i): [string, FieldProvenance] => {
    const at = p.ownPosition && Object.prototype.hasOwnProperty.call(positions, p.system) ? positions[p.system]! : p.position;
    const prov: FieldProvenance = { system: p.system, commitTimeMs: p.commitTimeMs, position: at, correlationId: p.correlation ?? `${p.system}@${at}` };
    if (p.precision !== undefined) prov.commitTimePrecisionMs = p.precision;
    return [names[i]!, prov];
  })));
  const shadow: fc.Arbitrary<Fields> = fc.oneof(
    fc.constant(null).map(() => object(entries)),
    fc.subarray(entries).map((sub) => object(sub)),
    fc.uniqueArray(fc.tuple(oddName, value), { selector: ([k]) => k, maxLength: 3 }).map((e) => object(e)),
  );
  return fc.tuple(fc.tuple(...sys.map(() => position)), fc.tuple(...sys.map(() => fc.option(shadow, { nil: undefined }))), fc.boolean(), fc.integer({ min: 1, max: 10_000 }))
    .chain(([ps, shadows, deleted, version]) => {
      const positions = object(sys.map((s, i): [string, string] => [s, ps[i]!]));
      return provenanceOf(positions).map((provenance): Omit<CanonicalRecord, 'key'> => ({
        entity: 'item', fields, provenance, positions, deleted, version,
        shadows: object(sys.flatMap((s, i): Array<[string, Fields]> => (shadows[i] === undefined ? [] : [[s, shadows[i]!]]))),
      }));
    });
});

describe('records on PostgreSQL: the row encoding', () => {
  requireEnv('TANDEM_TEST_PG_URL');
  let db: TestDatabase;
  let knex: Knex;
  let n = 0;

  beforeAll(async () => {
    db = await createPgDatabase('records');
    knex = connectStateStore(db.url, 4);
    await migrateStateStore(knex, schema);
  });
  afterAll(async () => {
    await knex?.destroy();
    await db?.drop();
  });

  const readBack = (key: string) => knex.transaction(async (trx) => (await readRecordsForUpdate(trx, schema, [{ entity: 'item', key }])).records.values().next().value!);

  it('gives back the record written, inserted and then updated (odd names, unicode, nulls, shadows equal to the fields or not)', async () => {
    await fc.assert(fc.asyncProperty(record, record, async (first, second) => {
      const key = `k${n++}`;
      const a: CanonicalRecord = { ...first, key };
      await knex.transaction((trx) => writeRecords(trx, schema, [a], new Set()));
      expect(await readBack(key)).toEqual(a);
      const b: CanonicalRecord = { ...second, key };
      await knex.transaction(async (trx) => {
        const { existing } = await readRecordsForUpdate(trx, schema, [{ entity: 'item', key }]);
        await writeRecords(trx, schema, [b], existing);
      });
      expect(await readBack(key)).toEqual(b);
      expect(await getRecord(knex, schema, 'item', key)).toEqual(b);
    }), { numRuns: 150 });
  });

  it('stores a shadow equal to the fields as "=" and expands it into a copy of its own', async () => {
    const fields = { name: 'Acme', credit: '100.00' };
    const rec: CanonicalRecord = { entity: 'item', key: 'same', fields, provenance: {}, positions: {}, shadows: { erp: { ...fields }, crm: { name: 'Acme' } }, deleted: false, version: 1 };
    await knex.transaction((trx) => writeRecords(trx, schema, [rec], new Set()));
    const { rows } = await knex.raw(`SELECT shadows FROM ??.records WHERE key = 'same'`, [schema]);
    expect(rows[0].shadows).toEqual({ erp: '=', crm: { name: 'Acme' } });
    const read = await readBack('same');
    expect(read.shadows.erp).toEqual(fields);
    read.shadows.erp!.name = 'changed';
    expect(read.fields.name).toBe('Acme');
  });

  it('reads rows of the earlier encodings: provenance by field, groups with their position, shadows as objects', async () => {
    const old = [
      {
        key: 'by-field',
        provenance: { name: { system: 'erp', commitTimeMs: 5, position: 'p1' }, credit: { system: 'crm', commitTimeMs: 6, position: 'p2', correlationId: 'crm-own' } },
      },
      {
        key: 'groups',
        provenance: [{ s: 'erp', t: 5, p: 'p1', f: ['name'] }, { s: 'crm', t: 6, p: 'p2', c: 'crm-own', f: ['credit'] }],
      },
    ];
    for (const row of old) {
      await knex.raw(`INSERT INTO ??.records (entity, key, fields, provenance, positions, shadows, version) VALUES ('item', ?, ?, ?, ?, ?, 3)`, [
        schema, row.key, JSON.stringify({ name: 'Acme', credit: '1.00' }), JSON.stringify(row.provenance),
        JSON.stringify({ erp: 'p1', crm: 'p2' }), JSON.stringify({ erp: { name: 'Acme', credit: '1.00' }, crm: { credit: '1.00' } }),
      ]);
      expect(await getRecord(knex, schema, 'item', row.key)).toEqual({
        entity: 'item', key: row.key, fields: { name: 'Acme', credit: '1.00' }, deleted: false, version: 3, positions: { erp: 'p1', crm: 'p2' },
        provenance: {
          name: { system: 'erp', commitTimeMs: 5, position: 'p1', correlationId: 'erp@p1' },
          credit: { system: 'crm', commitTimeMs: 6, position: 'p2', correlationId: 'crm-own' },
        },
        shadows: { erp: { name: 'Acme', credit: '1.00' }, crm: { credit: '1.00' } },
      });
    }
  });

  it('restores and confirms a shadow stored as "=" (the exceptions module’s SQL expands it)', async () => {
    const fields = { name: 'Long Name', phone: '+49 1' };
    const rec: CanonicalRecord = { entity: 'item', key: 'exc', fields, provenance: {}, positions: {}, shadows: { erp: { ...fields }, crm: { ...fields } }, deleted: false, version: 1 };
    await knex.transaction((trx) => writeRecords(trx, schema, [rec], new Set()));
    await knex.transaction((trx) => restoreShadow(trx, schema, 'item', 'exc', 'erp', ['name'], { name: 'Short' }));
    await knex.transaction((trx) => confirmShadow(trx, schema, 'item', 'exc', 'crm', { extra: 'x' }));
    const read = await getRecord(knex, schema, 'item', 'exc');
    expect(read!.shadows).toEqual({ erp: { name: 'Short', phone: '+49 1' }, crm: { ...fields, extra: 'x' } });
  });
});
