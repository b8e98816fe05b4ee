import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRules, resolve, type Decision } from '../../src/conflict';
import { entitySpec } from '../../src/config';
import { ConfigError } from '../../src/errors';
import type { CanonicalRecord } from '../../src/transform';
import { change, type ChangeSpec } from './fixtures';

const book = compileRules({
  sales_order: entitySpec.parse({
    owner: 'erp',
    fields: {
      status: { owner: 'erp', transitions: { crm: ['draft -> submitted', 'submitted -> draft'] } },
      promised_qty: { policy: 'max' },
      discount: { policy: 'min' },
      external_ref: { policy: 'first-wins' },
      ship_to: { policy: 'manual' },
    },
    groups: { billing: { fields: ['bill_name', 'bill_city'], owner: 'crm', correct: false } },
  }),
}, 'v');
const rules = book.entity('sales_order');
const fieldsBySystem = new Map([
  ['erp', new Set(['status', 'promised_qty', 'discount', 'external_ref', 'ship_to', 'bill_name', 'bill_city'])],
  ['crm', new Set(['status', 'promised_qty', 'discount', 'external_ref', 'ship_to', 'bill_name', 'bill_city'])],
]);

function run(specs: ChangeSpec[]): { record: CanonicalRecord; decisions: Decision[] } {
  let record: CanonicalRecord | null = null;
  const decisions: Decision[] = [];
  for (const spec of specs) {
    const decision = resolve(record, change({ entity: 'sales_order', key: 'erp:1', ...spec }), { rules, fieldsBySystem });
    decisions.push(decision);
    record = decision.record;
  }
  return { record: record!, decisions };
}

describe('workflow-state ownership', () => {
  it('lets CRM submit a draft but not release it; the owner moves it anywhere', () => {
    const { record, decisions } = run([
      { system: 'crm', seq: 1, commitTimeMs: 1, after: { status: 'draft' } },
      { system: 'crm', seq: 2, commitTimeMs: 2, after: { status: 'submitted' } },
      { system: 'crm', seq: 3, commitTimeMs: 3, after: { status: 'released' } },
      { system: 'erp', seq: 1, commitTimeMs: 4, after: { status: 'on_hold' } },
    ]);
    expect(decisions[1]!.conflicts).toEqual([]);
    expect(decisions[2]!.conflicts[0]).toMatchObject({ outcome: 'rejected', rule: 'sales_order.status owner=erp workflow', attempted: 'released', kept: 'submitted' });
    expect(decisions[2]!.writes).toEqual([{ system: 'crm', op: 'upsert', fields: { status: 'submitted' }, expected: { status: 'released' }, reason: 'correct' }]);
    expect(record.fields.status).toBe('on_hold');
  });

  it('a credit hold set in ERP wins over a CRM confirmation made at the same time, and reaches CRM', () => {
    const { record, decisions } = run([
      { system: 'crm', seq: 1, commitTimeMs: 1, after: { status: 'draft' } },
      { system: 'erp', seq: 1, commitTimeMs: 10, after: { status: 'on_hold' }, before: { status: 'draft' } },
      // CRM, not yet knowing of the hold, submits the draft (later commit).
      { system: 'crm', seq: 2, commitTimeMs: 11, after: { status: 'submitted' }, before: { status: 'draft' } },
    ]);
    expect(record.fields.status).toBe('on_hold');
    expect(decisions[1]!.writes).toEqual([{ system: 'crm', op: 'upsert', fields: { status: 'on_hold' }, expected: { status: 'draft' }, reason: 'propagate' }]);
    expect(decisions[2]!.conflicts[0]).toMatchObject({ outcome: 'rejected', attempted: 'submitted', kept: 'on_hold' });
    expect(decisions[2]!.writes).toEqual([{ system: 'crm', op: 'upsert', fields: { status: 'on_hold' }, expected: { status: 'submitted' }, reason: 'correct' }]);
  });
});

describe('shared-field policies', () => {
  it('max keeps the larger value (decimals by value) and corrects the loser', () => {
    const { record, decisions } = run([
      { system: 'erp', seq: 1, commitTimeMs: 1, after: { promised_qty: '9.50' } },
      { system: 'crm', seq: 1, commitTimeMs: 2, after: { promised_qty: '10.1' } },
      { system: 'erp', seq: 2, commitTimeMs: 3, after: { promised_qty: '2' } },
    ]);
    expect(record.fields.promised_qty).toBe('10.1');
    expect(decisions[1]!.conflicts[0]).toMatchObject({ outcome: 'accepted', rule: 'sales_order.promised_qty max' });
    expect(decisions[2]!.writes).toContainEqual({ system: 'erp', op: 'upsert', fields: { promised_qty: '10.1' }, expected: { promised_qty: '2' }, reason: 'correct' });
  });

  it('min keeps the smaller value', () => {
    const { record } = run([
      { system: 'erp', seq: 1, commitTimeMs: 1, after: { discount: 5 } },
      { system: 'crm', seq: 1, commitTimeMs: 2, after: { discount: 7 } },
      { system: 'crm', seq: 2, commitTimeMs: 3, after: { discount: 3 } },
    ]);
    expect(record.fields.discount).toBe(3);
  });

  it('first-wins keeps the first writer’s value against everyone else, but lets it change its own', () => {
    const { record, decisions } = run([
      { system: 'crm', seq: 1, commitTimeMs: 1, after: { external_ref: 'A' } },
      { system: 'erp', seq: 1, commitTimeMs: 2, after: { external_ref: 'B' } },
      { system: 'crm', seq: 2, commitTimeMs: 3, after: { external_ref: 'C' } },
    ]);
    expect(decisions[1]!.conflicts[0]).toMatchObject({ outcome: 'rejected', rule: 'sales_order.external_ref first-wins' });
    expect(record.fields.external_ref).toBe('C');
  });

  it('manual review holds the change: the current value stays, nothing is written back', () => {
    const { record, decisions } = run([
      { system: 'erp', seq: 1, commitTimeMs: 1, after: { ship_to: 'Dock 1' } },
      { system: 'crm', seq: 1, commitTimeMs: 2, after: { ship_to: 'Dock 9' } },
    ]);
    expect(record.fields.ship_to).toBe('Dock 1');
    expect(decisions[1]!.conflicts[0]).toMatchObject({ outcome: 'held', attempted: 'Dock 9', kept: 'Dock 1', corrected: false });
    expect(decisions[1]!.writes).toEqual([]);
  });

  it('a field group shares one rule', () => {
    const { decisions } = run([
      { system: 'crm', seq: 1, commitTimeMs: 1, after: { bill_name: 'A', bill_city: 'X' } },
      { system: 'erp', seq: 1, commitTimeMs: 2, after: { bill_city: 'Y' } },
    ]);
    expect(decisions[1]!.conflicts[0]).toMatchObject({ field: 'bill_city', outcome: 'rejected', rule: 'sales_order.bill_city (groups.billing) owner=crm', corrected: false });
    expect(decisions[1]!.writes).toEqual([]);
  });

  it('refuses a field ruled twice (directly and through a group)', () => {
    expect(() => compileRules({
      order: entitySpec.parse({ owner: 'erp', fields: { a: { owner: 'crm' } }, groups: { g: { fields: ['a'], owner: 'erp' } } }),
    }, 'v')).toThrow(ConfigError);
  });

  it('max: for any sequence of values from both systems, the canonical value is the maximum sent', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: -1000, max: 1000 })), { minLength: 1, maxLength: 20 }), (steps) => {
      const seqs = { erp: 0, crm: 0 };
      const { record } = run(steps.map(([erp, n], i) => {
        const system = erp ? 'erp' : 'crm';
        return { system, seq: ++seqs[system], commitTimeMs: i, after: { promised_qty: `${n}.00` } };
      }));
      expect(Number(record.fields.promised_qty)).toBe(Math.max(...steps.map(([, n]) => n)));
    }));
  });
});
