import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRules, resolve, type Decision } from '../../src/conflict';
import { entitySpec } from '../../src/config';
import type { CanonicalRecord } from '../../src/transform';
import { change, type ChangeSpec } from './fixtures';

const rules = compileRules({
  customer: entitySpec.parse({
    owner: 'erp',
    priority: ['erp', 'crm'],
    fields: {
      name: { policy: 'latest-wins' },
      email: { owner: 'crm' },
      credit_limit: { owner: 'erp' },
      note: { owner: 'crm', correct: false },
    },
  }),
}, 'test-version').entity('customer');

const fieldsBySystem = new Map([
  ['erp', new Set(['name', 'email', 'credit_limit'])],
  ['crm', new Set(['name', 'email', 'credit_limit', 'note'])],
]);
const ctx = { rules, fieldsBySystem };

function run(specs: ChangeSpec[], start: CanonicalRecord | null = null): { record: CanonicalRecord | null; decisions: Decision[] } {
  let record = start;
  const decisions: Decision[] = [];
  for (const spec of specs) {
    const decision = resolve(record, change(spec), ctx);
    decisions.push(decision);
    record = decision.record;
  }
  return { record, decisions };
}

describe('resolver: ownership', () => {
  it('creates a record from the first change and propagates it to every other system', () => {
    const { record, decisions } = run([{ system: 'erp', seq: 1, commitTimeMs: 1000, after: { name: 'Acme', credit_limit: '5000.00' } }]);
    expect(record!.fields).toEqual({ name: 'Acme', credit_limit: '5000.00' });
    expect(record!.version).toBe(1);
    expect(decisions[0]!.writes).toEqual([
      { system: 'crm', op: 'upsert', fields: { name: 'Acme', credit_limit: '5000.00' }, expected: {}, reason: 'propagate' },
    ]);
    expect(decisions[0]!.patch).toEqual([
      { op: 'add', path: '/name', value: 'Acme' },
      { op: 'add', path: '/credit_limit', value: '5000.00' },
    ]);
  });

  it('rejects a non-owner change to an owned field, logs it and writes the owner value back', () => {
    const { record, decisions } = run([
      { system: 'erp', seq: 1, commitTimeMs: 1000, after: { name: 'Acme', credit_limit: '5000.00' } },
      { system: 'crm', seq: 1, commitTimeMs: 2000, after: { credit_limit: '9999.00' }, before: { credit_limit: '5000.00' } },
    ]);
    expect(record!.fields.credit_limit).toBe('5000.00');
    const second = decisions[1]!;
    expect(second.patch).toEqual([]);
    expect(second.conflicts).toHaveLength(1);
    expect(second.conflicts[0]).toMatchObject({
      field: 'credit_limit', system: 'crm', attempted: '9999.00', before: '5000.00', current: '5000.00', kept: '5000.00',
      rule: 'customer.credit_limit owner=erp', outcome: 'rejected', corrected: true,
      patch: [{ op: 'replace', path: '/credit_limit', value: '9999.00' }],
    });
    expect(second.writes).toEqual([
      { system: 'crm', op: 'upsert', fields: { credit_limit: '5000.00' }, expected: { credit_limit: '9999.00' }, reason: 'correct' },
    ]);
  });

  it('rejects without a write-back when the rule says correct: false', () => {
    const { decisions } = run([
      { system: 'crm', seq: 1, commitTimeMs: 1000, after: { note: 'a' } },
      { system: 'erp', seq: 1, commitTimeMs: 2000, after: { note: 'b' } },
    ]);
    expect(decisions[1]!.conflicts[0]).toMatchObject({ outcome: 'rejected', corrected: false });
    expect(decisions[1]!.writes).toEqual([]);
  });

  it('accepts the owner’s change and expects the target to hold what tandem last saw there', () => {
    const { decisions } = run([
      { system: 'erp', seq: 1, commitTimeMs: 1000, after: { credit_limit: '1.00' } },
      { system: 'crm', seq: 1, commitTimeMs: 1500, after: { credit_limit: '1.00', email: 'a@x' } },
      { system: 'erp', seq: 2, commitTimeMs: 2000, after: { credit_limit: '2.00' } },
    ]);
    expect(decisions[2]!.writes).toEqual([
      { system: 'crm', op: 'upsert', fields: { credit_limit: '2.00' }, expected: { credit_limit: '1.00' }, reason: 'propagate' },
    ]);
  });

  it('skips a redelivered change (same or older position from the same system)', () => {
    const first = { system: 'erp', seq: 5, commitTimeMs: 1000, after: { name: 'A' } };
    const { decisions } = run([first, { ...first, after: { name: 'B' } }, { ...first, seq: 4, after: { name: 'C' } }]);
    expect(decisions[1]!.skipped).toBe('redelivered');
    expect(decisions[2]!.skipped).toBe('redelivered');
    expect(decisions[2]!.record.fields.name).toBe('A');
  });

  it('lets only the entity owner delete; a non-owner delete is refused and the row recreated', () => {
    const created = run([{ system: 'erp', seq: 1, commitTimeMs: 1000, after: { name: 'A' } }]).record;
    const refused = resolve(created, change({ system: 'crm', seq: 1, commitTimeMs: 2000, kind: 'delete' }), ctx);
    expect(refused.record.deleted).toBe(false);
    expect(refused.conflicts[0]).toMatchObject({ field: '*', outcome: 'rejected' });
    expect(refused.writes).toEqual([{ system: 'crm', op: 'upsert', fields: { name: 'A' }, expected: {}, reason: 'correct' }]);
    const deleted = resolve(created, change({ system: 'erp', seq: 2, commitTimeMs: 2000, kind: 'delete' }), ctx);
    expect(deleted.record.deleted).toBe(true);
    expect(deleted.writes).toEqual([{ system: 'crm', op: 'delete', fields: {}, expected: {}, reason: 'propagate' }]);
  });
});

describe('resolver: what an update changed', () => {
  it('ignores columns an update left alone, so a stale copy never overwrites a newer value', () => {
    // CRM renamed the customer; before tandem's write reached ERP, ERP changed
    // the credit limit. ERP's after-image still shows the old name.
    const { record, decisions } = run([
      { system: 'erp', seq: 1, commitTimeMs: 1000, after: { name: 'Base', credit_limit: '1.00' } },
      { system: 'crm', seq: 1, commitTimeMs: 2000, after: { name: 'New', credit_limit: '1.00' }, before: { name: 'Base', credit_limit: '1.00' } },
      { system: 'erp', seq: 2, commitTimeMs: 3000, after: { name: 'Base', credit_limit: '2.00' }, before: { name: 'Base', credit_limit: '1.00' } },
    ]);
    expect(record!.fields).toEqual({ name: 'New', credit_limit: '2.00' });
    expect(decisions[2]!.conflicts).toEqual([]);
    expect(decisions[2]!.writes).toEqual([
      { system: 'crm', op: 'upsert', fields: { credit_limit: '2.00' }, expected: { credit_limit: '1.00' }, reason: 'propagate' },
    ]);
    // The write queued for ERP is still expected to land: ERP's shadow keeps it.
    expect(record!.shadows.erp!.name).toBe('New');
  });
});

describe('resolver: latest-wins', () => {
  it('a concurrent older change loses and gets the winner written back; the conflict is logged', () => {
    const { record, decisions } = run([
      { system: 'erp', seq: 1, commitTimeMs: 1000, after: { name: 'Base' } },
      { system: 'erp', seq: 2, commitTimeMs: 3000, after: { name: 'ERP name' }, before: { name: 'Base' } },
      // CRM edited at 2000 from the old value: concurrent and older.
      { system: 'crm', seq: 1, commitTimeMs: 2000, after: { name: 'CRM name' }, before: { name: 'Base' } },
    ]);
    expect(record!.fields.name).toBe('ERP name');
    expect(decisions[2]!.conflicts[0]).toMatchObject({ outcome: 'rejected', rule: 'customer.name latest-wins', kept: 'ERP name' });
    expect(decisions[2]!.writes).toEqual([
      { system: 'crm', op: 'upsert', fields: { name: 'ERP name' }, expected: { name: 'CRM name' }, reason: 'correct' },
    ]);
  });

  it('a change made after seeing the current value is accepted without a conflict, whatever the clocks say', () => {
    const { record, decisions } = run([
      { system: 'erp', seq: 1, commitTimeMs: 5000, after: { name: 'ERP' } },
      { system: 'crm', seq: 1, commitTimeMs: 4000, after: { name: 'CRM' }, before: { name: 'ERP' } },
    ]);
    expect(record!.fields.name).toBe('CRM');
    expect(decisions[1]!.conflicts).toEqual([]);
  });

  it('breaks a tie in commit time by system priority', () => {
    const { record } = run([
      { system: 'crm', seq: 1, commitTimeMs: 1000, after: { name: 'CRM' } },
      { system: 'erp', seq: 1, commitTimeMs: 1000, after: { name: 'ERP' } },
    ]);
    expect(record!.fields.name).toBe('ERP');
  });
});

// Interleavings of per-system streams: positions and commit times grow within
// each system, and every change writes a value not seen before (a re-write of
// the same value is no change at all, so it would decide nothing).
const streamOf = (system: string) =>
  fc.array(fc.record({ gap: fc.integer({ min: 0, max: 5 }), field: fc.constantFrom('name', 'email', 'credit_limit') }), { maxLength: 12 })
    .map((steps) => {
      let time = 0;
      return steps.map((s, i): ChangeSpec => {
        time += s.gap;
        return { system, seq: i + 1, commitTimeMs: time, after: { [s.field]: `${system}-${i + 1}` } };
      });
    });

const interleaving = fc.tuple(streamOf('erp'), streamOf('crm'), fc.array(fc.boolean(), { minLength: 24, maxLength: 24 })).map(([erp, crm, picks]) => {
  const merged: ChangeSpec[] = [];
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < erp.length || j < crm.length) {
    const takeErp = j >= crm.length || (i < erp.length && (picks[k++ % picks.length] ?? true));
    merged.push(takeErp ? erp[i++]! : crm[j++]!);
  }
  return merged;
});

describe('resolver properties', () => {
  it('an owned field ends at its owner’s last value (or the first value anyone sent, if the owner never sent one)', () => {
    fc.assert(fc.property(interleaving, (changes) => {
      const { record } = run(changes);
      for (const [field, owner] of [['credit_limit', 'erp'], ['email', 'crm']] as const) {
        const sent = changes.filter((c) => c.after && field in c.after);
        if (sent.length === 0) continue;
        const byOwner = sent.filter((c) => c.system === owner);
        const expected = byOwner.length > 0 ? byOwner.at(-1)!.after![field] : sent[0]!.after![field];
        // If another system set it first, the owner's later value still wins.
        expect(record!.fields[field]).toBe(byOwner.length > 0 ? expected : sent[0]!.after![field]);
      }
    }));
  });

  it('a shared field without before-images ends at the value of the latest commit (ties by priority)', () => {
    fc.assert(fc.property(interleaving, (changes) => {
      const { record } = run(changes);
      const sent = changes.filter((c) => c.after && 'name' in c.after);
      if (sent.length === 0) return;
      const rank = (s: string) => (s === 'erp' ? 0 : 1);
      const latest = sent.reduce((best, c) => (c.commitTimeMs > best.commitTimeMs || (c.commitTimeMs === best.commitTimeMs && (rank(c.system) < rank(best.system) || (c.system === best.system))) ? c : best));
      expect(record!.fields.name).toBe(latest.after!.name);
    }));
  });

  it('replaying the same changes (redelivery) changes nothing and writes nothing', () => {
    fc.assert(fc.property(interleaving, (changes) => {
      const first = run(changes);
      const again = run(changes, first.record);
      expect(again.record).toEqual(first.record);
      expect(again.decisions.every((d) => d.skipped === 'redelivered' && d.writes.length === 0)).toBe(true);
    }));
  });

  it('is deterministic: the same changes from scratch give the same record and the same decisions', () => {
    fc.assert(fc.property(interleaving, (changes) => {
      const a = run(changes);
      const b = run(changes);
      expect(b.record).toEqual(a.record);
      expect(b.decisions.map((d) => [d.patch, d.writes, d.conflicts.map((c) => [c.field, c.outcome])]))
        .toEqual(a.decisions.map((d) => [d.patch, d.writes, d.conflicts.map((c) => [c.field, c.outcome])]));
    }));
  });

  it('never propagates a change back to the system it came from, and corrects only that system', () => {
    fc.assert(fc.property(interleaving, (changes) => {
      const { decisions } = run(changes);
      decisions.forEach((d, i) => {
        for (const w of d.writes) {
          if (w.reason === 'propagate') expect(w.system).not.toBe(changes[i]!.system);
          else expect(w.system).toBe(changes[i]!.system);
        }
      });
    }));
  });
});

/*
 * Fair time ordering: erp is a MariaDB (binlog commit times in whole seconds,
 * precision 1000 ms), crm a PostgreSQL (milliseconds). Both edit `name` from
 * the same value; the second one resolved is the concurrent one.
 */
describe('resolver: latest-wins across commit-time precisions', () => {
  const withPriority = (priority: readonly string[]) => ({
    rules: compileRules({ customer: entitySpec.parse({ owner: 'erp', priority: [...priority], fields: { name: { policy: 'latest-wins' } } }) }, 'v').entity('customer'),
    fieldsBySystem: new Map([['erp', new Set(['name'])], ['crm', new Set(['name'])]]),
  });
  const BASE_MS = 1_700_000_000_000;
  const base = () => resolve(null, change({ system: 'crm', seq: 1, commitTimeMs: BASE_MS - 60_000, after: { name: 'Base' } }), withPriority(['erp', 'crm'])).record;

  /** A MariaDB edit whose true commit time is `trueMs`: the binlog says only its second. */
  const mariadbEdit = (trueMs: number) => {
    const c = change({ system: 'erp', seq: 1, commitTimeMs: Math.floor(trueMs / 1000) * 1000, after: { name: 'from MariaDB' }, before: { name: 'Base' } });
    c.event.source.commitTimePrecisionMs = 1000;
    return c;
  };
  const postgresEdit = (ms: number) => change({ system: 'crm', seq: 2, commitTimeMs: ms, after: { name: 'from PostgreSQL' }, before: { name: 'Base' } });

  function race(mariadbMs: number, postgresMs: number, mariadbFirst: boolean, priority: readonly string[]) {
    const ctx = withPriority(priority);
    const [first, second] = mariadbFirst ? [mariadbEdit(mariadbMs), postgresEdit(postgresMs)] : [postgresEdit(postgresMs), mariadbEdit(mariadbMs)];
    const one = resolve(base(), first, ctx);
    const two = resolve(one.record, second, ctx);
    return { value: two.record.fields.name, conflict: two.conflicts.find((c) => c.field === 'name'), stored: two.record.provenance.name };
  }
  const second = fc.integer({ min: 0, max: 100_000 }).map((s) => BASE_MS + s * 1000);
  const priorities = fc.constantFrom(['erp', 'crm'], ['crm', 'erp']);

  it('a same-second race is decided by priority, whatever the sub-second digits and the order of resolution', () => {
    fc.assert(fc.property(second, fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 999 }), fc.boolean(), priorities,
      (s, mariadbMs, postgresMs, mariadbFirst, priority) => {
        const { value, conflict } = race(s + mariadbMs, s + postgresMs, mariadbFirst, priority);
        expect(value).toBe(priority[0] === 'erp' ? 'from MariaDB' : 'from PostgreSQL');
        expect(conflict?.rule).toBe('customer.name latest-wins (tie within 1000 ms precision → priority)');
      }));
  });

  it('outside the precision window the later commit wins, whatever the priority and the order of resolution', () => {
    fc.assert(fc.property(second, fc.integer({ min: 0, max: 999 }), fc.integer({ min: 1, max: 5_000 }), fc.boolean(), fc.boolean(), priorities,
      (s, mariadbMs, distance, postgresLater, mariadbFirst, priority) => {
        // PostgreSQL either at or after the next second, or before this second began.
        const postgresMs = postgresLater ? s + 1000 + distance - 1 : s - distance;
        const { value, conflict } = race(s + mariadbMs, postgresMs, mariadbFirst, priority);
        expect(value).toBe(postgresLater ? 'from PostgreSQL' : 'from MariaDB');
        expect(conflict?.rule).toBe('customer.name latest-wins');
      }));
  });

  it('keeps the precision in the provenance, so a later PostgreSQL change is compared with the window, not the truncated second', () => {
    const { stored } = race(BASE_MS + 700, BASE_MS + 300, true, ['crm', 'erp']);
    // crm had priority: the PostgreSQL value won the tie and holds the field now.
    expect(stored).toMatchObject({ system: 'crm', commitTimeMs: BASE_MS + 300 });
    const mariadbWon = race(BASE_MS + 700, BASE_MS + 300, false, ['erp', 'crm']).stored;
    expect(mariadbWon).toMatchObject({ system: 'erp', commitTimeMs: BASE_MS, commitTimePrecisionMs: 1000 });
  });
});
