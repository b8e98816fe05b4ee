/**
 * Who may create and who may bring a record back: `create:` on the entity,
 * and an edit racing the existence owner's delete. Pure resolver properties.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRules, EXISTENCE_FIELD, planExistenceReview, resolve, type Decision, type HeldEntry } from '../../src/conflict';
import { entitySpec } from '../../src/config';
import type { CanonicalRecord } from '../../src/transform';
import { change, type ChangeSpec } from './fixtures';

const fieldsBySystem = new Map([
  ['erp', new Set(['name', 'credit_limit'])],
  ['crm', new Set(['name', 'credit_limit'])],
]);

function contextOf(spec: Record<string, unknown>) {
  return { rules: compileRules({ customer: entitySpec.parse({ owner: 'erp', ...spec }) }, 'v').entity('customer'), fieldsBySystem };
}

function run(specs: ChangeSpec[], ctx: ReturnType<typeof contextOf>): { record: CanonicalRecord | null; decisions: Decision[] } {
  let record: CanonicalRecord | null = null;
  const decisions: Decision[] = [];
  for (const spec of specs) {
    const decision = resolve(record, change(spec), ctx);
    decisions.push(decision);
    record = decision.record;
  }
  return { record, decisions };
}

const exists = (record: CanonicalRecord | null) => record !== null && record.version > 0 && !record.deleted;

describe('existence: create', () => {
  it('a creation by a system not in create: is logged and removed from it (correct: true); nothing reaches the other systems', () => {
    const { record, decisions } = run([{ system: 'crm', seq: 1, commitTimeMs: 1, after: { name: 'Rogue' } }], contextOf({ create: ['erp'] }));
    expect(exists(record)).toBe(false);
    const [decision] = decisions;
    expect(decision!.conflicts).toMatchObject([{ field: EXISTENCE_FIELD, system: 'crm', outcome: 'rejected', rule: 'customer create=[erp] (existence)', attempted: { name: 'Rogue' }, corrected: true }]);
    expect(decision!.writes).toEqual([{ system: 'crm', op: 'delete', fields: {}, expected: {}, reason: 'correct' }]);
  });

  it('with correct: false it is held for review, and a review keeping the creator makes the record and propagates it', () => {
    const ctx = contextOf({ create: ['erp'], correct: false });
    const { record, decisions } = run([{ system: 'crm', seq: 1, commitTimeMs: 1, after: { name: 'Rogue', credit_limit: '5.00' } }], ctx);
    expect(decisions[0]!.conflicts[0]).toMatchObject({ outcome: 'held', corrected: false });
    expect(decisions[0]!.writes).toEqual([]);
    const held: HeldEntry = { id: '7', entity: 'customer', key: 'erp:1', field: EXISTENCE_FIELD, system: 'crm', table: 'public.t', position: 'p', attempted: { name: 'Rogue', credit_limit: '5.00' } };
    const created = planExistenceReview(record!, held, 'crm', 'ann', fieldsBySystem, 5);
    expect(exists(created.record)).toBe(true);
    expect(created.record.fields).toEqual({ name: 'Rogue', credit_limit: '5.00' });
    expect(created.writes).toEqual([{ system: 'erp', op: 'upsert', fields: { name: 'Rogue', credit_limit: '5.00' }, expected: {}, reason: 'propagate' }]);
    const removed = planExistenceReview(record!, held, 'erp', 'ann', fieldsBySystem, 5);
    expect(exists(removed.record)).toBe(false);
    expect(removed.writes).toEqual([{ system: 'crm', op: 'delete', fields: {}, expected: {}, reason: 'correct' }]);
    expect(removed.conflicts[0]).toMatchObject({ outcome: 'resolved', field: EXISTENCE_FIELD });
  });

  it('without create: any system creates, as before', () => {
    const { record } = run([{ system: 'crm', seq: 1, commitTimeMs: 1, after: { name: 'Fine' } }], contextOf({}));
    expect(exists(record)).toBe(true);
  });
});

describe('existence: the owner’s delete stands', () => {
  it('a CRM edit resolved after the ERP delete does not bring the record back; the CRM row is removed', () => {
    const { record, decisions } = run([
      { system: 'erp', seq: 1, commitTimeMs: 1, after: { name: 'A' } },
      { system: 'erp', seq: 2, commitTimeMs: 3, kind: 'delete' },
      { system: 'crm', seq: 1, commitTimeMs: 2, after: { name: 'A2' }, before: { name: 'A' } },
    ], contextOf({}));
    expect(record!.deleted).toBe(true);
    expect(decisions[2]!.conflicts).toMatchObject([{ field: EXISTENCE_FIELD, system: 'crm', outcome: 'rejected' }]);
    expect(decisions[2]!.writes).toEqual([{ system: 'crm', op: 'delete', fields: {}, expected: {}, reason: 'correct' }]);
  });

  it('the owner itself may create the record again', () => {
    const { record } = run([
      { system: 'erp', seq: 1, commitTimeMs: 1, after: { name: 'A' } },
      { system: 'erp', seq: 2, commitTimeMs: 2, kind: 'delete' },
      { system: 'erp', seq: 3, commitTimeMs: 3, after: { name: 'B' } },
    ], contextOf({}));
    expect(exists(record)).toBe(true);
  });
});

type Op = { system: 'erp' | 'crm'; kind: 'upsert' | 'delete' };
const ops = fc.array(fc.record({ system: fc.constantFrom<'erp' | 'crm'>('erp', 'crm'), kind: fc.constantFrom<'upsert' | 'delete'>('upsert', 'delete') }), { maxLength: 20 });

/** What the rules say about the record's existence after each op: a model independent of the resolver. */
function model(sequence: Op[], crmMayCreate: boolean): Array<{ state: 'none' | 'live' | 'deleted'; existenceConflict: boolean }> {
  let state: 'none' | 'live' | 'deleted' = 'none';
  return sequence.map(({ system, kind }) => {
    let existenceConflict = false;
    if (kind === 'upsert') {
      if (system === 'erp') state = 'live';
      else if (state === 'none' && crmMayCreate) state = 'live';
      else if (state !== 'live') existenceConflict = true;
    } else if (system === 'erp') {
      if (state === 'live') state = 'deleted';
    } else if (state === 'live') {
      existenceConflict = true; // a non-owner delete: refused (resolveDelete)
    }
    return { state, existenceConflict };
  });
}

function specsOf(sequence: Op[]): ChangeSpec[] {
  const seq = { erp: 0, crm: 0 };
  return sequence.map(({ system, kind }, i) => ({ system, seq: ++seq[system], commitTimeMs: i, kind, after: kind === 'upsert' ? { name: `${system}-${i}` } : null }));
}

describe('existence properties', () => {
  for (const correct of [true, false]) {
    for (const create of [undefined, ['erp'], ['erp', 'crm']]) {
      it(`the record exists exactly when the model says (create: ${JSON.stringify(create)}, correct: ${correct}); every refused existence change is one logged conflict`, () => {
        const ctx = contextOf({ correct, ...(create ? { create } : {}) });
        const crmMayCreate = !create || create.includes('crm');
        fc.assert(fc.property(ops, (sequence) => {
          const expected = model(sequence, crmMayCreate);
          let record: CanonicalRecord | null = null;
          sequence.forEach((op, i) => {
            const decision = resolve(record, change(specsOf(sequence)[i]!), ctx);
            record = decision.record;
            const want = expected[i]!;
            expect(exists(record)).toBe(want.state === 'live');
            expect(record.deleted).toBe(want.state === 'deleted');
            expect(decision.conflicts.filter((c) => c.field === EXISTENCE_FIELD)).toHaveLength(want.existenceConflict ? 1 : 0);
            if (want.existenceConflict && op.kind === 'upsert') {
              // Refused creations never reach another system; per correct, removed from the creator or held.
              expect(decision.writes).toEqual(correct ? [{ system: op.system, op: 'delete', fields: {}, expected: {}, reason: 'correct' }] : []);
              expect(decision.conflicts[0]!.outcome).toBe(correct ? 'rejected' : 'held');
            }
          });
        }));
      });
    }
  }
});
