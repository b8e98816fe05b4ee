/**
 * The pure part of compare: pairing two sides' rows by key within key
 * ranges, and classifying what each side holds against the ownership rules.
 * Random drift is planted; every planted difference must be found exactly
 * once and nothing else reported.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classify, pairByKey, pairDiffers, planRepair, type Observation, type ObservedRow, type Side } from '../../src/compare';
import { compileRules, emptyRecord } from '../../src/conflict';
import type { Fields } from '../../src/transform';

const rules = compileRules({
  customer: {
    owner: 'erp', correct: true, priority: [], groups: {},
    fields: { name: { policy: 'latest-wins' }, email: { owner: 'crm' } },
  },
}, 'v1').entity('customer');
const FIELDS = ['credit', 'email', 'name'] as const;
const sides: Side[] = ['erp', 'crm'].map((system) => ({ system, fields: new Map(FIELDS.map((f) => [f, { readOnly: false }])) }));

describe('pairByKey within key ranges', () => {
  /** Keys 0..n-1 split into contiguous ranges, as the push-down splits them; drift planted on either side. */
  const scenario = fc.record({
    n: fc.integer({ min: 0, max: 300 }),
    cuts: fc.uniqueArray(fc.integer({ min: 1, max: 299 }), { maxLength: 12 }),
    drift: fc.array(fc.record({ key: fc.integer({ min: 0, max: 399 }), kind: fc.constantFrom('delete-a', 'delete-b', 'alter-a', 'alter-b', 'insert-b') })),
  });

  it('finds every planted difference exactly once and invents none', () => {
    fc.assert(fc.property(scenario, ({ n, cuts, drift }) => {
      const a = new Map<number, Fields>();
      const b = new Map<number, Fields>();
      for (let k = 0; k < n; k++) {
        a.set(k, { v: k, w: 'same' });
        b.set(k, { v: k, w: 'same' });
      }
      const planted = new Set<number>();
      for (const { key, kind } of drift) {
        if (kind === 'insert-b') {
          if (a.has(key) || b.has(key)) continue;
          b.set(key, { v: -1, w: 'only b' });
        } else {
          const side = kind.endsWith('a') ? a : b;
          if (!side.has(key)) continue;
          if (kind.startsWith('delete')) side.delete(key);
          else side.set(key, { ...side.get(key)!, w: `altered ${key}` });
        }
        planted.add(key);
      }
      // Drift that cancels out (altered alike, or deleted, on both sides) is no difference: recompute what truly differs.
      const truth = [...planted].filter((k) => a.has(k) !== b.has(k) || (a.has(k) && JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k))));
      const bounds = [0, ...[...cuts].sort((x, y) => x - y), 400];
      const found: number[] = [];
      for (let i = 0; i < bounds.length - 1; i++) {
        const inRange = (side: Map<number, Fields>) => [...side].filter(([k]) => k >= bounds[i]! && k < bounds[i + 1]!).map(([k, fields]) => ({ localKey: String(k), fields }));
        const rowsB = inRange(b).reverse(); // each database may return its rows in its own order
        for (const pair of pairByKey(inRange(a), rowsB)) if (pairDiffers(pair, ['v', 'w'])) found.push(Number(pair.localKey));
      }
      expect(found.sort((x, y) => x - y)).toEqual(truth.sort((x, y) => x - y));
    }), { numRuns: 300 });
  });
});

describe('classify', () => {
  const base: Fields = { credit: '100.00', email: 'a@x.example', name: 'Acme' };
  const observation = (rows: Record<string, Fields | null>, record: Observation['record'] = { fields: base, deleted: false }): Observation => ({
    entity: 'customer', key: 'erp:1', record, explained: new Map(),
    rows: new Map(Object.entries(rows).map(([s, fields]) => [s, fields === null ? null : ({ localKey: `${s}-1`, fields } as ObservedRow)])),
  });

  it('reports drift on each side and field exactly once, with the side the rules say is right', () => {
    const drift = fc.record({ erp: fc.subarray([...FIELDS]), crm: fc.subarray([...FIELDS]) });
    fc.assert(fc.property(drift, (changed) => {
      const rows: Record<string, Fields> = { erp: { ...base }, crm: { ...base } };
      for (const system of ['erp', 'crm'] as const) for (const f of changed[system]) rows[system]![f] = `${system} drift ${f}`;
      const found = classify(observation(rows), { rules, sides });
      expect(found.every((d) => d.kind === 'field')).toBe(true);
      expect(new Set(found.map((d) => d.field)).size).toBe(found.length);
      for (const field of FIELDS) {
        const d = found.find((x) => x.field === field);
        const owner = field === 'credit' ? 'erp' : field === 'email' ? 'crm' : null;
        // An owner's drift is right: everyone else (and the canonical record) is wrong; otherwise the canonical value is right.
        const right = owner && changed[owner].includes(field) ? rows[owner]![field] : base[field];
        const wrong = [...(['erp', 'crm'] as const).filter((s) => rows[s]![field] !== right), ...(right !== base[field] ? ['canonical'] : [])];
        if (wrong.length === 0) expect(d).toBeUndefined();
        else expect(d).toMatchObject({ wrong, right: { value: right } });
      }
    }));
  });

  it('a missing row, a row of a deleted record and a row with no record are each their own kind', () => {
    expect(classify(observation({ erp: base, crm: null }), { rules, sides }).map((d) => [d.kind, d.wrong])).toEqual([['missing', ['crm']]]);
    expect(classify(observation({ erp: base, crm: base }, { fields: base, deleted: true }), { rules, sides }).map((d) => [d.kind, d.wrong])).toEqual([['deleted', ['erp']], ['deleted', ['crm']]]);
    expect(classify(observation({ crm: base }, null), { rules, sides }).map((d) => [d.kind, d.wrong])).toEqual([['unlinked', ['crm']]]);
  });

  it('a difference on a side with an open outbox task is explained by it', () => {
    const obs = { ...observation({ erp: base, crm: { ...base, credit: '1.00' } }), explained: new Map([['crm', { by: 'outbox' as const, id: '7', status: 'pending' }]]) };
    expect(classify(obs, { rules, sides })).toMatchObject([{ field: 'credit', explained: { by: 'outbox', id: '7' } }]);
  });

  it('a MySQL BOOLEAN read as 1 agrees with true', () => {
    const flag = new Map([['active', { readOnly: false }]]);
    const obs = observation({ erp: { active: true }, crm: { active: 1 } }, { fields: { active: true }, deleted: false });
    expect(classify(obs, { rules, sides: [{ system: 'erp', fields: flag }, { system: 'crm', fields: flag }] })).toEqual([]);
  });
});

describe('planRepair', () => {
  const record = { ...emptyRecord('customer', 'erp:1'), fields: { credit: '100.00', name: 'Acme' }, version: 3, shadows: { crm: { credit: '100.00' } } };
  const ctx = {
    runId: 'run1', nowMs: 1_000, rules, fieldsBySystem: new Map([['erp', new Set(['credit', 'name'])], ['crm', new Set(['credit', 'name'])]]),
    tableOf: (s: string) => `public.${s}`, recordsTable: 'tandem.records',
  };
  const obs = {
    entity: 'customer', key: 'erp:1', version: 3, unlinked: false, explained: new Map(), record: { fields: record.fields, deleted: false },
    rows: new Map([['erp', { localKey: 'K1', fields: { credit: '250.00', name: 'Acme' } }], ['crm', { localKey: 'u1', fields: { credit: '100.00', name: 'Acme' } }]]),
  };

  it('takes the owner\'s drifted value into the record and writes it to the other side, conditional on what compare saw', () => {
    const [difference] = classify(obs, { rules, sides: sides.slice(0, 2) });
    const plan = planRepair(record, obs, [difference!], ctx);
    if (typeof plan === 'string') throw new Error(plan);
    expect(plan.record).toMatchObject({ version: 4, fields: { credit: '250.00' }, shadows: { crm: { credit: '250.00' } } });
    expect(plan.record.provenance.credit).toMatchObject({ system: 'erp', position: 'compare:run1' });
    expect(plan.writes).toEqual([{ system: 'crm', op: 'upsert', fields: { credit: '250.00' }, expected: { credit: '100.00' }, reason: 'correct' }]);
    expect(plan.conflicts.map((c) => [c.system, c.field, c.outcome, c.kept])).toEqual([['crm', 'credit', 'repair', '250.00'], ['canonical', 'credit', 'repair', '250.00']]);
  });

  it('refuses a record that changed after compare read it', () => {
    const [difference] = classify(obs, { rules, sides });
    expect(planRepair({ ...record, version: 4 }, obs, [difference!], ctx)).toBe('the record changed after compare read it');
  });
});
