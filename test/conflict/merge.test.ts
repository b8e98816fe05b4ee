/**
 * Merge detection: what counts as a merge of two records within one source
 * transaction, what does not (splits, plain deletes, unmerged duplicates,
 * moves spread over transactions), following merge chains, and the
 * conflict-log entry. Pure properties over generated transactions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectRepointMerges, followMerges, mergeEntry, mergeTableKeys, repointRecord, MERGE_FIELD, type MergeObservation } from '../../src/conflict';
import type { CanonicalRecord } from '../../src/transform';
import { entitySpec } from '../../src/config';

const CUSTOMERS = new Set(['customer']);

const repoint = (txId: string | null, key: string, from: string | null, to: string | null, system = 'erp'): MergeObservation => ({
  system, txId, entity: 'sales_order', key, kind: 'upsert', refs: [{ field: 'customer', entity: 'customer', before: from, after: to }],
});
const remove = (txId: string | null, key: string, system = 'erp'): MergeObservation => ({ system, txId, entity: 'customer', key, kind: 'delete', refs: [] });

/** Customer keys c0..c5, order keys o0..o19. */
const customerKey = fc.integer({ min: 0, max: 5 }).map((n) => `c${n}`);
const orderKeys = fc.uniqueArray(fc.integer({ min: 0, max: 19 }).map((n) => `o${n}`), { minLength: 1, maxLength: 6 });

describe('detectRepointMerges', () => {
  it('children of A all moved to B and A deleted in one transaction: exactly one merge of A into B, whatever the order of the events', () => {
    fc.assert(fc.property(customerKey, customerKey, orderKeys, fc.nat(), (loser, survivor, orders, seed) => {
      fc.pre(loser !== survivor);
      const events = [...orders.map((o) => repoint('tx1', o, loser, survivor)), remove('tx1', loser)];
      const shuffled = shuffle(events, seed);
      const found = detectRepointMerges(shuffled, CUSTOMERS);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({ entity: 'customer', loser, survivor, system: 'erp', txId: 'tx1', via: 'reference-repoint' });
      expect(found[0]!.children.map((c) => c.key).sort()).toEqual([...orders].sort());
    }));
  });

  it('unmerged duplicates, plain deletes, splits and moves in other transactions are never merges', () => {
    const noise = fc.array(fc.oneof(
      // a re-point with no delete of its old customer in the same transaction (a duplicate fixed by hand, or an order moved)
      fc.tuple(fc.constantFrom('tx1', 'tx2', 'tx3'), orderKeys, customerKey, customerKey).map(([tx, os, a, b]) => os.map((o) => repoint(tx, o, a, b))),
      // a delete in a transaction with no re-points
      fc.tuple(fc.constantFrom('tx4', 'tx5'), customerKey).map(([tx, c]) => [remove(tx, c)]),
      // the same keys in a snapshot (no transaction)
      fc.tuple(orderKeys, customerKey, customerKey).map(([os, a, b]) => [...os.map((o) => repoint(null, o, a, b)), remove(null, a)]),
    ), { maxLength: 6 }).map((groups) => groups.flat());
    fc.assert(fc.property(noise, (events) => {
      // no transaction holds both a delete and a re-point away from the deleted record
      expect(detectRepointMerges(events, CUSTOMERS)).toEqual([]);
    }));
  });

  it('children of A spread over two records (a split) are not a merge', () => {
    expect(detectRepointMerges([repoint('t', 'o1', 'a', 'b'), repoint('t', 'o2', 'a', 'c'), remove('t', 'a')], CUSTOMERS)).toEqual([]);
  });

  it('a survivor deleted in the same transaction, or moves in another system, are not a merge', () => {
    expect(detectRepointMerges([repoint('t', 'o1', 'a', 'b'), remove('t', 'a'), remove('t', 'b')], CUSTOMERS)).toEqual([]);
    expect(detectRepointMerges([repoint('t', 'o1', 'a', 'b', 'crm'), remove('t', 'a', 'erp')], CUSTOMERS)).toEqual([]);
  });

  it('only entities configured for reference-repoint are considered', () => {
    expect(detectRepointMerges([repoint('t', 'o1', 'a', 'b'), remove('t', 'a')], new Set(['product']))).toEqual([]);
  });
});

describe('followMerges', () => {
  it('ends at a key that is no loser (or in a cycle) and never at a key outside the chain', () => {
    const edges = fc.array(fc.tuple(customerKey, customerKey), { maxLength: 8 });
    fc.assert(fc.property(edges, customerKey, (pairs, start) => {
      const survivorOf = new Map(pairs.filter(([a, b]) => a !== b));
      const end = followMerges(start, survivorOf);
      const chain = [start];
      for (let k = survivorOf.get(start); k !== undefined && !chain.includes(k); k = survivorOf.get(k)) chain.push(k);
      expect(end).toBe(chain.at(-1));
    }));
  });

  it('follows A into B into C', () => {
    expect(followMerges('a', new Map([['a', 'b'], ['b', 'c']]))).toBe('c');
    expect(followMerges('x', new Map([['a', 'b']]))).toBe('x');
  });
});

describe('repointRecord', () => {
  const SYSTEMS = ['erp', 'crm', 'rest', 'wms'] as const;
  const mapped = new Map<string, ReadonlySet<string>>([['erp', new Set(['customer', 'note'])], ['crm', new Set(['customer'])], ['rest', new Set(['customer'])], ['wms', new Set(['note'])]]);
  const shadowValue = fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined });
  const provenance = { system: 'erp', commitTimeMs: 1, position: 'p', correlationId: 'erp@p' };

  it('points the record at the survivor and writes it to exactly the systems mapping the field that do not hold it yet', () => {
    fc.assert(fc.property(fc.tuple(...SYSTEMS.map(() => shadowValue)), fc.nat({ max: 5 }), (shadows, version) => {
      const record: CanonicalRecord = {
        entity: 'sales_order', key: 'o1', fields: { customer: 'a', note: 'x' }, provenance: {}, deleted: false, positions: {},
        shadows: Object.fromEntries(SYSTEMS.flatMap((s, i) => (shadows[i] === undefined ? [] : [[s, { customer: shadows[i]! }]]))), version: version + 1,
      };
      const { record: next, writes } = repointRecord(record, 'customer', 'b', mapped, provenance);
      expect(next.fields).toEqual({ customer: 'b', note: 'x' });
      expect(next.version).toBe(record.version + 1);
      expect(record.fields.customer).toBe('a'); // the input is not changed
      const expectedTargets = ['erp', 'crm', 'rest'].filter((s) => record.shadows[s]?.customer !== 'b');
      expect(writes.map((w) => w.system).sort()).toEqual(expectedTargets.sort());
      for (const write of writes) {
        expect(write).toMatchObject({ op: 'upsert', fields: { customer: 'b' }, reason: 'propagate' });
        expect(write.expected).toEqual(record.shadows[write.system] ? { customer: record.shadows[write.system]!.customer } : {});
      }
      for (const system of ['erp', 'crm', 'rest']) expect(next.shadows[system]?.customer).toBe('b');
      expect(next.shadows.wms).toEqual(record.shadows.wms);
    }));
  });
});

describe('merge table rows and the conflict-log entry', () => {
  it('reads the loser and survivor keys, and refuses rows that do not name two records', () => {
    const spec = { loser: 'loser_no', survivor: 'survivor_no' };
    expect(mergeTableKeys({ loser_no: 'C1', survivor_no: 'C2' }, spec)).toEqual({ loser: 'C1', survivor: 'C2' });
    expect(mergeTableKeys({ loser_no: 7, survivor_no: 9 }, spec)).toEqual({ loser: '7', survivor: '9' });
    expect(mergeTableKeys({ loser_no: 'C1', survivor_no: 'C1' }, spec)).toHaveProperty('invalid');
    expect(mergeTableKeys({ loser_no: null, survivor_no: 'C1' }, spec)).toHaveProperty('invalid');
    expect(mergeTableKeys({ survivor_no: 'C1' }, spec)).toHaveProperty('invalid');
  });

  it('logs the loser as the key and the survivor as the kept value', () => {
    const entry = mergeEntry(
      { entity: 'customer', loser: 'a', survivor: 'b', system: 'erp', txId: '9', via: 'reference-repoint', children: [{ entity: 'sales_order', key: 'o1', field: 'customer' }] },
      { table: 'erp.customers', position: 'p', commitTimeMs: 5, correlationId: 'erp@p' },
    );
    expect(entry).toMatchObject({ entity: 'customer', key: 'a', field: MERGE_FIELD, attempted: 'b', kept: 'b', current: 'a', outcome: 'merged', corrected: false });
    expect(entry.rule).toContain('reference-repoint');
  });

  it('the entity setting takes either form and nothing else', () => {
    expect(entitySpec.parse({ owner: 'erp', merge: { detect: 'reference-repoint' } }).merge).toEqual({ detect: 'reference-repoint' });
    expect(entitySpec.parse({ owner: 'erp', merge: { table: 'erp_merges', loser: 'l', survivor: 's' } }).merge).toEqual({ table: 'erp_merges', loser: 'l', survivor: 's' });
    expect(() => entitySpec.parse({ owner: 'erp', merge: { detect: 'same-email' } })).toThrow();
    expect(() => entitySpec.parse({ owner: 'erp', merge: { table: 'erp_merges', loser: 'l' } })).toThrow();
  });
});

function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
