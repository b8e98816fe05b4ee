/**
 * config/migration.yaml as the migration demo fills it in: valid, its
 * cutover set where the demo puts it, the old ERP's tables in the run's
 * database, every name that must be unique per run replaced, and the merge
 * settings the pipeline derives from it.
 */
import { describe, expect, it } from 'vitest';
import { compileRules } from '../../src/conflict';
import { parseConfig } from '../../src/config';
import { MIGRATION_CONFIG, migrationConfigText, migrationNames } from '../../src/demo';
import { mergeSettings } from '../../src/pipeline/merge-stage';
import { compileMappings } from '../../src/transform';

const ENV = { TANDEM_STATE_URL: 'postgresql://s/tandem', ERP_OLD_DATABASE_URL: 'mysql://s/erp', ERP_NEW_API_URL: 'http://api', CRM_DATABASE_URL: 'postgresql://s/crm' };
const AT = new Date('2031-05-06T07:08:09.000Z');

describe('config/migration.yaml, filled in by the migration demo', () => {
  const names = migrationNames('0a1b2c3d');
  const loaded = parseConfig(migrationConfigText(names, AT), MIGRATION_CONFIG, ENV);
  const { config } = loaded;

  it('is valid, with the run\'s names and the cutover in it', () => {
    expect(Object.fromEntries(Object.entries(config.systems).map(([s, spec]) => [s, spec.type]))).toEqual({ erp_old: 'mysql', erp_new: 'rest', crm: 'postgres' });
    expect(config.cutovers?.wave1?.at).toBeDefined();
    expect(new Date(String(config.cutovers!.wave1!.at)).getTime()).toBe(AT.getTime());
    expect(config.mappings.filter((m) => m.system === 'erp_old').map((m) => m.table)).toEqual([`${names.erpOldDatabase}.customers`, `${names.erpOldDatabase}.sales_orders`]);
    const text = migrationConfigText(names, AT);
    for (const fixed of ['serverId: 4711', 'echoServerId: 4712', 'slot: tandem_crm\n', 'publication: tandem_crm\n', 'origin: tandem\n']) expect(text).not.toContain(fixed);
  });

  it('moves credit_limit and payment_terms to erp_new at the cutover and nothing else', () => {
    const rules = compileRules(config.entities, loaded.version, config.cutovers).entity('customer');
    const ownerAt = (field: string, ms: number) => {
      const rule = rules.field(field, ms);
      return rule.kind === 'owner' ? rule.owner : rule.kind;
    };
    for (const field of ['credit_limit', 'payment_terms']) {
      expect(ownerAt(field, AT.getTime() - 1)).toBe('erp_old');
      expect(ownerAt(field, AT.getTime())).toBe('erp_new');
    }
    expect(ownerAt('email', AT.getTime() + 1)).toBe('crm');
  });

  it('merges customers by re-pointed orders, and orders are the children', () => {
    const settings = mergeSettings(config, compileMappings(config.mappings))!;
    expect(settings.detection.get('customer')).toEqual({ detect: 'reference-repoint' });
    expect(settings.children.get('customer')).toEqual([{ entity: 'sales_order', field: 'customer' }]);
    expect(settings.tables.size).toBe(0);
  });
});
