/**
 * Ownership cutovers: a field's owner changes at a commit time, and every
 * change is judged by the rule version in force when it was committed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chainHash, compileRules, hashedContent, resolve, versionAt, type ConflictEntry, type Decision, type EntityRules } from '../../src/conflict';
import { canonicalJson } from '../../src/conflict/values';
import { cutoverProblemsOf, entityOf } from './cutover-helpers';
import type { CanonicalChange, CanonicalRecord } from '../../src/transform';
import { change, type ChangeSpec } from './fixtures';

const WAVE1 = Date.parse('2026-12-01T00:00:00Z');

function migrationRules(owner: unknown): EntityRules {
  return compileRules({ customer: entityOf({ owner: 'erp_old', fields: { credit_limit: { owner }, name: { owner: 'crm' } } }) },
    'v', { wave1: { at: '2026-12-01T00:00:00Z' } }).entity('customer');
}

const fieldsBySystem = new Map([
  ['erp_old', new Set(['name', 'credit_limit'])],
  ['erp_new', new Set(['name', 'credit_limit'])],
  ['crm', new Set(['name', 'credit_limit'])],
]);

function run(rules: EntityRules, specs: ReadonlyArray<ChangeSpec | CanonicalChange>): { record: CanonicalRecord | null; decisions: Decision[] } {
  let record: CanonicalRecord | null = null;
  const decisions: Decision[] = [];
  for (const spec of specs) {
    const decision = resolve(record, 'event' in spec ? spec : change(spec), { rules, fieldsBySystem });
    decisions.push(decision);
    record = decision.record;
  }
  return { record, decisions };
}

const versioned = migrationRules([{ system: 'erp_old' }, { system: 'erp_new', from: 'wave1' }]);

describe('versionAt', () => {
  it('picks the version whose effective point is the latest at or before the commit time (property)', () => {
    fc.assert(fc.property(
      fc.uniqueArray(fc.integer({ min: -1e12, max: 1e12 }), { maxLength: 6 }),
      fc.integer({ min: -1e12 - 10, max: 1e12 + 10 }),
      (times, at) => {
        const sorted = [...times].sort((a, b) => a - b);
        const versions = [{ fromMs: null, id: -1 }, ...sorted.map((fromMs, id) => ({ fromMs, id }))];
        const picked = versionAt(versions, at);
        const eligible = sorted.filter((t) => t <= at);
        if (eligible.length === 0) expect(picked.id).toBe(-1);
        else expect(picked.fromMs).toBe(Math.max(...eligible));
      },
    ));
  });

  it('compiled owner lists: the owner in force is the last version whose from is at or before the commit time (property)', () => {
    const systems = ['erp_old', 'erp_new', 'crm'];
    fc.assert(fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 4e12 }), { minLength: 0, maxLength: 5 }),
      fc.array(fc.constantFrom(...systems), { minLength: 6, maxLength: 6 }),
      fc.array(fc.integer({ min: 0, max: 4e12 }), { minLength: 1, maxLength: 20 }),
      fc.boolean(),
      (times, owners, commits, named) => {
        const sorted = [...times].sort((a, b) => a - b);
        const cutovers = Object.fromEntries(sorted.map((t, i) => [`wave${i + 1}`, { at: new Date(t).toISOString() }]));
        const owner = [{ system: owners[0]! }, ...sorted.map((t, i) => ({ system: owners[i + 1]!, from: named ? `wave${i + 1}` : new Date(t).toISOString() }))];
        const rules = compileRules({ customer: entityOf({ owner: 'crm', fields: { credit_limit: { owner } } }) }, 'v', cutovers).entity('customer');
        for (const at of commits) {
          const expected = sorted.reduce((found, t, i) => (t <= at ? owners[i + 1]! : found), owners[0]!);
          const rule = rules.field('credit_limit', at);
          expect(rule.kind === 'owner' && rule.owner).toBe(expected);
          const index = sorted.filter((t) => t <= at).length;
          expect(rule.version).toBe(`customer.credit_limit@${index === 0 ? 'initial' : (owner[index] as { from: string }).from}`);
        }
      },
    ));
  });
});

describe('resolver across a cutover', () => {
  it('before the cutover the old owner decides; after it the old owner is rejected and corrected like any non-owner', () => {
    const { record, decisions } = run(versioned, [
      { system: 'erp_old', seq: 1, commitTimeMs: WAVE1 - 60_000, after: { name: 'Acme', credit_limit: '1000.00' } },
      // erp_new before wave1: not the owner yet.
      { system: 'erp_new', seq: 1, commitTimeMs: WAVE1 - 1, after: { credit_limit: '2000.00' }, before: { credit_limit: '1000.00' } },
      // erp_old at exactly wave1: the new version is in force (effective point ≤ commit time).
      { system: 'erp_old', seq: 2, commitTimeMs: WAVE1, after: { credit_limit: '3000.00' }, before: { credit_limit: '1000.00' } },
      { system: 'erp_new', seq: 2, commitTimeMs: WAVE1 + 1, after: { credit_limit: '4000.00' }, before: { credit_limit: '2000.00' } },
    ]);
    expect(record!.fields.credit_limit).toBe('4000.00');
    const [, early, late, owner] = decisions;
    expect(early!.conflicts.map((c) => [c.system, c.outcome, c.rule, c.ruleVersion, c.corrected])).toEqual([
      ['erp_new', 'rejected', 'customer.credit_limit@initial owner=erp_old', 'customer.credit_limit@initial', true],
    ]);
    expect(early!.writes.filter((w) => w.reason === 'correct')).toEqual([
      { system: 'erp_new', op: 'upsert', fields: { credit_limit: '1000.00' }, expected: { credit_limit: '2000.00' }, reason: 'correct' },
    ]);
    expect(late!.conflicts.map((c) => [c.system, c.outcome, c.rule, c.ruleVersion, c.corrected])).toEqual([
      ['erp_old', 'rejected', 'customer.credit_limit@wave1 owner=erp_new', 'customer.credit_limit@wave1', true],
    ]);
    expect(late!.writes.filter((w) => w.reason === 'correct').map((w) => [w.system, w.fields])).toEqual([['erp_old', { credit_limit: '1000.00' }]]);
    expect(owner!.conflicts).toEqual([]);
    expect(owner!.writes.map((w) => w.system).sort()).toEqual(['crm', 'erp_old']);
  });

  it('only the versioned field changes hands: the other fields keep their rules and log no version', () => {
    const { decisions } = run(versioned, [
      { system: 'crm', seq: 1, commitTimeMs: WAVE1 - 10, after: { name: 'Acme', credit_limit: '1.00' } },
      { system: 'erp_new', seq: 1, commitTimeMs: WAVE1 + 10, after: { name: 'Acme AG' }, before: { name: 'Acme' } },
    ]);
    expect(decisions[1]!.conflicts.map((c) => [c.field, c.rule, c.ruleVersion])).toEqual([['name', 'customer.name owner=crm', undefined]]);
  });

  it('behaves exactly like the unversioned rule of the version in force when every change is on one side of the cutover (property)', () => {
    const systems = ['erp_old', 'erp_new', 'crm'] as const;
    const step = fc.record({
      system: fc.constantFrom(...systems),
      value: fc.constantFrom('1.00', '2.00', '3.00', null),
      withBefore: fc.boolean(),
      delayMs: fc.integer({ min: 0, max: 10_000 }),
    });
    fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 25 }), fc.boolean(), (steps, after) => {
      const seq: Record<string, number> = {};
      let time = after ? WAVE1 : WAVE1 - 1 - steps.reduce((sum, s) => sum + s.delayMs, 0);
      let last: Record<string, string | null> = {};
      const changes = steps.map((s) => {
        time += s.delayMs;
        seq[s.system] = (seq[s.system] ?? 0) + 1;
        const before = s.withBefore && s.system in last ? { credit_limit: last[s.system]! } : null;
        last = { ...last, [s.system]: s.value };
        return change({ system: s.system, seq: seq[s.system]!, commitTimeMs: time, after: { credit_limit: s.value }, before });
      });
      const plain = migrationRules(after ? 'erp_new' : 'erp_old');
      const a = run(versioned, changes);
      const b = run(plain, changes);
      expect(a.record).toEqual(b.record);
      expect(a.decisions.map(semantics)).toEqual(b.decisions.map(semantics));
      for (const conflict of a.decisions.flatMap((d) => d.conflicts)) {
        expect(conflict.ruleVersion).toBe(`customer.credit_limit@${after ? 'wave1' : 'initial'}`);
      }
    }));
  });

  it('decides every change, step by step, as the unversioned rule of the version in force at its commit time (property)', () => {
    const systems = ['erp_old', 'erp_new', 'crm'] as const;
    fc.assert(fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 100_000 }), { maxLength: 4 }),
      fc.array(fc.constantFrom(...systems), { minLength: 5, maxLength: 5 }),
      fc.array(fc.record({ system: fc.constantFrom(...systems), value: fc.constantFrom('1.00', '2.00', null), at: fc.integer({ min: 0, max: 100_001 }), withBefore: fc.boolean() }), { minLength: 1, maxLength: 30 }),
      (times, owners, steps) => {
        const sorted = [...times].sort((a, b) => a - b);
        const owner = [{ system: owners[0]! }, ...sorted.map((t, i) => ({ system: owners[i + 1]!, from: new Date(t).toISOString() }))];
        const rules = migrationRules(owner);
        const seq: Record<string, number> = {};
        let record: CanonicalRecord | null = null;
        for (const s of steps) {
          seq[s.system] = (seq[s.system] ?? 0) + 1;
          const before = s.withBefore && record ? { credit_limit: record.fields.credit_limit ?? null } : null;
          const c = change({ system: s.system, seq: seq[s.system]!, commitTimeMs: s.at, after: { credit_limit: s.value }, before });
          const inForce = sorted.reduce((found, t, i) => (t <= s.at ? owners[i + 1]! : found), owners[0]!);
          const got = resolve(record, c, { rules, fieldsBySystem });
          const want = resolve(record, c, { rules: migrationRules(inForce), fieldsBySystem });
          expect(semantics(got)).toEqual(semantics(want));
          record = got.record;
        }
      },
    ));
  });
});

/** A decision without rule names (which say where a rule is written, not what it decided). */
function semantics(decision: Decision) {
  return { ...decision, conflicts: decision.conflicts.map(({ rule: _rule, ruleVersion: _version, ...rest }) => rest) };
}

describe('conflict log chain', () => {
  const entry: ConflictEntry = {
    entity: 'customer', key: 'erp:1', field: 'credit_limit', system: 'erp_old', table: 'public.t', position: '1', txId: null,
    commitTimeMs: WAVE1, correlationId: 'c', attempted: '1.00', before: undefined, current: '2.00', kept: '2.00',
    rule: 'customer.credit_limit owner=erp', outcome: 'rejected', patch: [], corrected: true,
  };

  it('hashes a row without a rule version exactly as before the version existed, so old rows still verify', () => {
    const old = canonicalJson({
      loggedAt: 't', rulesVersion: 'v', correlationId: 'c', entity: 'customer', key: 'erp:1', field: 'credit_limit', system: 'erp_old',
      table: 'public.t', position: '1', txId: null, commitTimeMs: WAVE1, attempted: '1.00', before: null, current: '2.00', kept: '2.00',
      rule: 'customer.credit_limit owner=erp', outcome: 'rejected', corrected: true, patch: [],
    });
    expect(hashedContent('t', 'v', entry)).toBe(old);
  });

  it('hashes the rule version when there is one: changing it breaks the row', () => {
    const a = chainHash('genesis', hashedContent('t', 'v', { ...entry, ruleVersion: 'customer.credit_limit@wave1' }));
    const b = chainHash('genesis', hashedContent('t', 'v', { ...entry, ruleVersion: 'customer.credit_limit@initial' }));
    expect(a).not.toBe(b);
    expect(a).not.toBe(chainHash('genesis', hashedContent('t', 'v', entry)));
  });
});

describe('versions of workflow ownership and of shared policies', () => {
  const WAVE2 = Date.parse('2027-01-01T00:00:00Z');
  const cutovers = { wave1: { at: '2026-12-01T00:00:00Z' }, wave2: { at: '2027-01-01T00:00:00Z' } };

  it('a shared window between two owners: latest-wins decides concurrent edits, logged under its version', () => {
    const rules = compileRules({ customer: entityOf({
      owner: 'erp_old', priority: ['erp_new', 'erp_old'],
      fields: { credit_limit: { owner: [{ system: 'erp_old' }, { policy: 'latest-wins', from: 'wave1' }, { system: 'erp_new', from: 'wave2' }] } },
    }) }, 'v', cutovers).entity('customer');
    expect(rules.field('credit_limit', WAVE1 - 1)).toMatchObject({ kind: 'owner', owner: 'erp_old', version: 'customer.credit_limit@initial' });
    expect(rules.field('credit_limit', WAVE1)).toMatchObject({ kind: 'latest-wins', name: 'customer.credit_limit@wave1 latest-wins', version: 'customer.credit_limit@wave1' });
    expect(rules.field('credit_limit', WAVE2)).toMatchObject({ kind: 'owner', owner: 'erp_new', version: 'customer.credit_limit@wave2' });
    const { record, decisions } = run(rules, [
      { system: 'erp_old', seq: 1, commitTimeMs: WAVE1 - 10, after: { credit_limit: '1.00' } },
      // Inside the window: an edit on top of the current value is accepted from either ERP...
      { system: 'erp_new', seq: 1, commitTimeMs: WAVE1 + 10, after: { credit_limit: '2.00' }, before: { credit_limit: '1.00' } },
      // ...and a concurrent one (made without seeing 2.00, committed earlier) loses.
      { system: 'erp_old', seq: 2, commitTimeMs: WAVE1 + 5, after: { credit_limit: '3.00' }, before: { credit_limit: '1.00' } },
      // After wave2 erp_old is a non-owner.
      { system: 'erp_old', seq: 3, commitTimeMs: WAVE2 + 5, after: { credit_limit: '4.00' }, before: { credit_limit: '2.00' } },
    ]);
    expect(record!.fields.credit_limit).toBe('2.00');
    expect(decisions.flatMap((d) => d.conflicts).map((c) => [c.system, c.attempted, c.outcome, c.ruleVersion])).toEqual([
      ['erp_old', '3.00', 'rejected', 'customer.credit_limit@wave1'],
      ['erp_old', '4.00', 'rejected', 'customer.credit_limit@wave2'],
    ]);
  });

  it('workflow transitions per version: what a non-owner may do changes with the owner', () => {
    const rules = compileRules({ customer: entityOf({
      owner: 'erp_old',
      fields: { status: { owner: [
        { system: 'erp_old', transitions: { crm: ['draft -> submitted'] } },
        { system: 'erp_new', from: 'wave1', transitions: { crm: ['draft -> submitted', 'submitted -> cancelled'], erp_old: ['* -> archived'] } },
      ] } },
    }) }, 'v', cutovers).entity('customer');
    const status = (system: string, seq: number, at: number, from: string, to: string): ChangeSpec => ({ system, seq, commitTimeMs: at, after: { status: to }, before: { status: from } });
    const { decisions } = run(rules, [
      { system: 'erp_old', seq: 1, commitTimeMs: WAVE1 - 100, after: { status: 'draft' } },
      status('crm', 1, WAVE1 - 90, 'draft', 'submitted'),
      status('crm', 2, WAVE1 - 80, 'submitted', 'cancelled'),
      status('crm', 3, WAVE1 + 10, 'submitted', 'cancelled'),
      status('erp_old', 2, WAVE1 + 20, 'cancelled', 'open'),
      status('erp_old', 3, WAVE1 + 30, 'cancelled', 'archived'),
    ]);
    expect(decisions.map((d) => d.record.fields.status)).toEqual(['draft', 'submitted', 'submitted', 'cancelled', 'cancelled', 'archived']);
    expect(decisions.flatMap((d) => d.conflicts).map((c) => [c.system, c.attempted, c.rule])).toEqual([
      ['crm', 'cancelled', 'customer.status@initial owner=erp_old workflow'],
      ['erp_old', 'open', 'customer.status@wave1 owner=erp_new workflow'],
    ]);
  });

  it('a from is a cutover name or an ISO time with its offset', () => {
    expect(() => entityOf({ owner: 'erp_old', fields: { x: { owner: [{ system: 'erp_old' }, { system: 'crm', from: '2027-01-15' }] } } })).toThrow(/a cutover name \(e\.g\. wave1\) or an ISO time with its offset/);
  });

  it('a version names a system or a policy', () => {
    expect(() => entityOf({ owner: 'erp_old', fields: { x: { owner: [{ system: 'erp_old', policy: 'max' }] } } })).toThrow(/names a system .* or a shared policy, not both or neither/);
    expect(() => entityOf({ owner: 'erp_old', fields: { x: { owner: [{ system: 'erp_old' }, { from: 'wave1' }] } } })).toThrow(/not both or neither/);
    expect(() => entityOf({ owner: 'erp_old', fields: { x: { owner: [{ system: 'erp_old' }, { policy: 'max', from: 'wave1', correct: false }] } } })).toThrow(/belong to versions with an owner/);
  });
});

describe('owner lists in the configuration', () => {
  it('accepts the plain form and the versioned form side by side', () => {
    expect(cutoverProblemsOf({ credit_limit: { owner: [{ system: 'erp_old' }, { system: 'erp_new', from: 'wave1' }] }, name: { owner: 'crm' } })).toEqual([]);
    expect(cutoverProblemsOf({ credit_limit: { owner: [{ system: 'erp_old' }, { system: 'erp_new', from: '2027-01-01T00:00:00Z' }] } })).toEqual([]);
  });

  it('names what is wrong and where', () => {
    expect(cutoverProblemsOf({ credit_limit: { owner: [{ system: 'erp_old' }, { system: 'erp_new', from: 'wave9' }] } })).toEqual([
      { path: 'entities.customer.fields.credit_limit.owner[1].from', message: 'unknown cutover "wave9" (cutovers: wave1)' },
    ]);
    expect(cutoverProblemsOf({ credit_limit: { owner: [{ system: 'erp_old', from: 'wave1' }] } })).toEqual([
      { path: 'entities.customer.fields.credit_limit.owner[0].from', message: 'the first owner is in force before every cutover: it has no from' },
    ]);
    expect(cutoverProblemsOf({ credit_limit: { owner: [{ system: 'erp_old' }, { system: 'erp_new' }] } })).toEqual([
      { path: 'entities.customer.fields.credit_limit.owner[1]', message: 'every owner after the first needs from: a cutover name or an ISO time' },
    ]);
    expect(cutoverProblemsOf({ credit_limit: { owner: [{ system: 'erp_old' }, { system: 'erp_new', from: 'wave1' }, { system: 'crm', from: '2026-11-01T00:00:00Z' }] } })).toEqual([
      { path: 'entities.customer.fields.credit_limit.owner[2].from', message: "owners are listed in time order: 2026-11-01T00:00:00Z (2026-11-01T00:00:00.000Z) is not after the previous owner's from (2026-12-01T00:00:00.000Z)" },
    ]);
    expect(cutoverProblemsOf({ credit_limit: { owner: [{ system: 'erp_old' }, { system: 'sap', from: 'wave1' }] } })).toEqual([
      { path: 'entities.customer.fields.credit_limit.owner[1].system', message: 'unknown system "sap"' },
    ]);
  });

  it('refuses to compile rules that do not form a timeline', () => {
    expect(() => migrationRules([{ system: 'erp_old' }, { system: 'erp_new', from: 'wave2' }])).toThrow(/unknown cutover "wave2"/);
  });
});
