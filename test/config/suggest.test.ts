/**
 * "Did you mean" for unknown keys (the allowed keys read from the spec, the
 * nearest by edit distance, with path and line), and environment overrides
 * whose text is not of the setting's type reported against the variable.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configSpec, parseConfig } from '../../src/config';
import { allowedKeys, editDistance, nearestKey } from '../../src/config/suggest';

const base = `stateStore: { url: { env: STATE_URL } }
systems:
  erp:
    type: postgres
    url: { env: ERP_URL }
    capture: { slot: s_erp, publication: p_erp }
  crm:
    type: mysql
    url: { env: CRM_URL }
entities:
  customer: { owner: erp, fields: { name: { policy: latest-wins } } }
mappings:
  - { system: erp, table: customers, entity: customer, key: { columns: [id] }, fields: { id: id, name: name } }
  - { system: crm, table: crm.accounts, entity: customer, key: { columns: [id], generated: uuid }, fields: { name: account_name } }
pipeline:
  allowNoRedis: true
  applyConcurrency: 4
`;

function errorOf(text: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(text, 'tandem.yaml', env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('did you mean', () => {
  it('names the path, the line and the nearest allowed key', () => {
    const text = base.replace('  applyConcurrency: 4', '  applyConcurency: 4');
    expect(errorOf(text)).toContain('pipeline.applyConcurency (line 17): unknown key "applyConcurency"; did you mean "applyConcurrency"?');
  });

  it('finds keys inside records, arrays and unions of the spec', () => {
    expect(errorOf(base.replace('capture: { slot', 'captur: { slot'))).toContain('systems.erp.captur (line 6): unknown key "captur"; did you mean "capture"?');
    expect(errorOf(base.replace('{ slot: s_erp,', '{ solt: s_erp,'))).toContain('systems.erp.capture.solt (line 6): unknown key "solt"; did you mean "slot"?');
    expect(errorOf(base.replace('fields: { id: id, name: name } }', 'fields: { id: id, name: name }, tabel: x }'))).toContain('mappings[0].tabel (line 13): unknown key "tabel"; did you mean "table"?');
    expect(errorOf(base.replace('{ policy: latest-wins }', '{ polcy: latest-wins }'))).toMatch(/entities\.customer\.fields\.name\.polcy \(line 11\): unknown key "polcy"; did you mean "policy"\?/);
    expect(errorOf(base.replace('stateStore:', 'statestore: {}\nstateStore:'))).toContain('statestore (line 1): unknown key "statestore"; did you mean "stateStore"?');
  });

  it('lists the allowed keys when none is near', () => {
    const message = errorOf(base.replace('  applyConcurrency: 4', '  colour: blue'));
    expect(message).toMatch(/pipeline\.colour \(line 17\): unknown key "colour"; allowed here: .*applyConcurrency/);
  });

  it('reads allowed keys from the spec', () => {
    expect(allowedKeys(configSpec, ['metrics']).sort()).toEqual(expect.arrayContaining(['host', 'port']));
    expect(allowedKeys(configSpec, ['systems', 'erp', 'apply'])).toContain('origin');
    expect(allowedKeys(configSpec, ['nothing', 'here'])).toEqual([]);
  });

  it('suggests only near keys', () => {
    expect(nearestKey('prot', ['port', 'host'])).toBe('port');
    expect(nearestKey('PORT', ['port', 'host'])).toBe('port');
    expect(nearestKey('colour', ['port', 'host'])).toBeNull();
  });

  it('edit distance: a metric (zero on equals, symmetric), bounded by the longer length', () => {
    fc.assert(fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
      const d = editDistance(a, b);
      expect(d).toBe(editDistance(b, a));
      expect(d === 0).toBe(a === b);
      expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
      expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
    }));
    expect(editDistance('applyConcurency', 'applyConcurrency')).toBe(1);
    expect(editDistance('solt', 'slot')).toBe(1);
  });
});

describe('environment overrides that are not of the setting\u2019s type', () => {
  it('name the variable and the setting, not a YAML line', () => {
    const message = errorOf(base, { TANDEM_PIPELINE_APPLY_CONCURRENCY: 'fast' });
    expect(message).toBe('environment variable TANDEM_PIPELINE_APPLY_CONCURRENCY="fast" is not a number (it sets pipeline.applyConcurrency)');
    expect(errorOf(base, { TANDEM_PIPELINE_ALLOW_NO_REDIS: 'ture' })).toMatch(/^environment variable TANDEM_PIPELINE_ALLOW_NO_REDIS="ture" is not a boolean/);
  });

  it('a value of the right type that the spec refuses is reported against the variable too', () => {
    const message = errorOf(base, { TANDEM_PIPELINE_APPLY_CONCURRENCY: '0' });
    expect(message).toContain('pipeline.applyConcurrency (from environment variable TANDEM_PIPELINE_APPLY_CONCURRENCY):');
    expect(message).not.toMatch(/line \d+/);
  });

  it('booleans read true/false, 1/0, yes/no, on/off', () => {
    for (const [text, value] of [['yes', true], ['OFF', false], ['1', true], ['false', false]] as const) {
      expect(parseConfig(base, 'tandem.yaml', { TANDEM_PIPELINE_ALLOW_NO_REDIS: text }).config.pipeline.allowNoRedis).toBe(value);
    }
  });
});
