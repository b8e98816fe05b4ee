/**
 * `tandem rules diff` and `explain` for rules with ownership cutovers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bufferIo } from '../../src/cli/io';
import { diffRules, runRulesDiff } from '../../src/cli/rules/diff';
import { explainField } from '../../src/cli/rules/explain';
import { analyseRules } from '../../src/cli/rules/analysis';
import { migrationConfig } from '../conflict/cutover-helpers';

const dir = mkdtempSync(join(tmpdir(), 'tandem-rules-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const wave1 = { wave1: { at: '2026-12-01T00:00:00Z' } };
const before = migrationConfig({ credit_limit: { owner: 'erp_old' }, name: { owner: 'crm' } }, {});
const after = migrationConfig({
  credit_limit: { owner: [{ system: 'erp_old' }, { system: 'erp_new', from: 'wave1' }] },
  name: { owner: 'crm' },
}, wave1);

describe('tandem rules diff', () => {
  it('lists exactly the fields whose owner changes over time, and the cutover added', () => {
    const diff = diffRules(before, after);
    expect(diff.cutovers).toEqual({ wave1: [null, '2026-12-01T00:00:00.000Z'] });
    expect(diff.changes).toEqual([
      { entity: 'customer', field: 'credit_limit', old: 'owner=erp_old', new: 'owner=erp_old; then from wave1 (2026-12-01T00:00:00.000Z): owner=erp_new' },
    ]);
  });

  it('lists every field referring to a cutover that moves, and nothing for a rule merely written differently', () => {
    const moved = migrationConfig({
      credit_limit: { owner: [{ system: 'erp_old' }, { system: 'erp_new', from: 'wave1' }] },
      name: { owner: [{ system: 'crm' }, { system: 'erp_new', from: 'wave1' }] },
    }, { wave1: { at: '2027-01-01T00:00:00Z' } });
    const diff = diffRules(after, moved);
    expect(diff.cutovers).toEqual({ wave1: ['2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'] });
    expect(diff.changes.map((c) => c.field)).toEqual(['credit_limit', 'name']);
    // The entity owner written out as a field rule decides the same: no change.
    const explicit = migrationConfig({ credit_limit: { owner: 'erp_old' }, name: { owner: 'crm' }, id: { owner: 'erp_old' } }, {});
    expect(diffRules(before, explicit).changes).toEqual([]);
  });

  it('lists policy, correction and entity changes', () => {
    const shared = migrationConfig({ credit_limit: { policy: 'latest-wins' }, name: { owner: 'crm', correct: false } }, {});
    const diff = diffRules(before, { ...shared, entities: { customer: { ...shared.entities.customer!, owner: 'erp_new' } } });
    expect(diff.changes).toEqual([
      { entity: 'customer', field: '(existence)', old: 'owner=erp_old', new: 'owner=erp_new' },
      { entity: 'customer', field: 'credit_limit', old: 'owner=erp_old', new: 'latest-wins' },
      // id has no rule of its own: it follows the entity owner.
      { entity: 'customer', field: 'id', old: 'owner=erp_old', new: 'owner=erp_new' },
      { entity: 'customer', field: 'name', old: 'owner=crm', new: 'owner=crm (no corrections)' },
    ]);
  });

  it('prints the differences from two files', async () => {
    const text = (rule: string, cutovers: string) => `stateStore: { url: { env: X } }
systems:
  erp_old: { type: postgres, url: { env: X } }
  erp_new: { type: postgres, url: { env: X } }
${cutovers}entities:
  customer:
    owner: erp_old
    fields:
      credit_limit:
        owner: ${rule}
mappings:
  - { system: erp_old, table: c, entity: customer, key: { columns: [id] }, fields: { id: id, credit_limit: credit_limit } }
  - { system: erp_new, table: c, entity: customer, key: { columns: [id] }, fields: { id: id, credit_limit: credit_limit } }
`;
    const oldFile = join(dir, 'old.yaml');
    const newFile = join(dir, 'new.yaml');
    writeFileSync(oldFile, text('erp_old', ''));
    writeFileSync(newFile, text('\n          - { system: erp_old }\n          - { system: erp_new, from: wave1 }', 'cutovers:\n  wave1: { at: "2026-12-01T00:00:00Z" }\n'));
    const io = bufferIo();
    expect(await runRulesDiff(oldFile, newFile, {}, io)).toBe(0);
    expect(io.stdout()).toBe(`rules of ${oldFile} → ${newFile}
cutovers:
  wave1: none → 2026-12-01T00:00:00.000Z
customer.credit_limit
  old: owner=erp_old
  new: owner=erp_old; then from wave1 (2026-12-01T00:00:00.000Z): owner=erp_new
1 rule and 1 cutover change
`);
  });
});

describe('tandem rules explain with versions', () => {
  it('shows every version, when each is in force, and the one in force now', () => {
    const text = explainField(after, 'customer', 'credit_limit', () => 7, Date.parse('2026-12-07T00:00:00Z'));
    expect(text).toMatch(/\n  versions\s+2: a change is judged by the version in force at its source commit time\n/);
    expect(text).toMatch(/version customer\.credit_limit@initial\s+from the start until wave1 \(2026-12-01T00:00:00\.000Z\)\n/);
    expect(text).toMatch(/version customer\.credit_limit@wave1\s+from wave1 \(2026-12-01T00:00:00\.000Z\) \(in force now\)\n/);
    expect(text).toMatch(/policy\s+owner=erp_new: only erp_new changes it/);
    expect(text).toMatch(/logged as\s+rule "customer\.credit_limit@wave1 owner=erp_new", version customer\.credit_limit@wave1/);
    const earlier = explainField(after, 'customer', 'credit_limit', () => 7, Date.parse('2026-11-01T00:00:00Z'));
    expect(earlier).toMatch(/until wave1 \(2026-12-01T00:00:00\.000Z\) \(in force now\)\n/);
  });

  it('explains an unversioned field as before', () => {
    const text = explainField(after, 'customer', 'name', () => 7);
    expect(text).not.toContain('versions');
    expect(text).toMatch(/logged as\s+rule "customer\.name owner=crm"\n/);
  });
});

describe('tandem rules check with versions', () => {
  it('checks every owner version against the mappings, and warns of an owner that is never captured', () => {
    const captured = (config: typeof after) => ({ ...config, systems: { ...config.systems, erp_old: { ...config.systems.erp_old!, capture: { slot: 's', publication: 'p', heartbeatMs: 0, statusIntervalMs: 5000, snapshot: 'never' as const, maxBatchEvents: 1, maxBatchDelayMs: 1 } } } });
    const findings = analyseRules(captured(after)).filter((f) => f.severity !== 'info');
    expect(findings).toEqual([{
      severity: 'warning', path: 'entities.customer.fields.credit_limit.owner[1].system',
      message: "erp_new owns customer.credit_limit for a time but is not captured (no capture, no debezium): meanwhile no change to it reaches tandem from anywhere, and every other system's is rejected",
    }]);
    const unmapped = { ...after, mappings: after.mappings.map((m) => (m.system === 'erp_new' ? { ...m, fields: { id: 'id', name: 'name' } } : m)) };
    expect(analyseRules(captured(unmapped)).filter((f) => f.severity === 'error').map((f) => f.path)).toEqual(['entities.customer.fields.credit_limit.owner[1].system']);
  });
});
