import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { CAPTURED_TABLES } from '../../src/demo/schema';
import { compileMappings } from '../../src/transform';

const FILE = 'config/demo.yaml';
const ENV = { TANDEM_STATE_URL: 'postgresql://s/tandem', ERP_DATABASE_URL: 'postgresql://s/erp', CRM_DATABASE_URL: 'postgresql://s/crm' };

function load() {
  return parseConfig(readFileSync(FILE, 'utf8'), FILE, ENV);
}

describe('config/demo.yaml', () => {
  it('validates against the spec and its cross-checks', () => {
    const { config } = load();
    expect(Object.keys(config.systems).sort()).toEqual(['crm', 'erp']);
    expect(config.pipeline.allowNoRedis).toBe(true);
    expect(config.redis).toBeUndefined();
  });

  it('compiles: every mapping, both directions', () => {
    const registry = compileMappings(load().config.mappings);
    for (const entity of ['customer', 'product', 'inventory_level', 'sales_order', 'order_line']) {
      expect(registry.forEntity(entity).map((m) => m.system).sort()).toEqual(['crm', 'erp']);
    }
  });

  it('maps exactly the tables the demo schema captures', () => {
    const { config } = load();
    for (const system of ['erp', 'crm'] as const) {
      const mapped = config.mappings.filter((m) => m.system === system).map((m) => m.table.replace(/^public\./, ''));
      expect(mapped.sort()).toEqual([...CAPTURED_TABLES[system]].sort());
    }
  });

  it('states the ownership the demo checks', () => {
    const { entities } = load().config;
    expect(entities.customer?.owner).toBe('erp');
    expect(entities.customer?.fields).toMatchObject({
      name: { policy: 'latest-wins' }, email: { owner: 'crm' }, phone: { owner: 'crm' },
      credit_limit: { owner: 'erp' }, credit_hold: { owner: 'erp' },
    });
    expect(entities.sales_order?.fields).toMatchObject({ status: { owner: 'erp' }, notes: { policy: 'latest-wins' } });
  });

  it('converts ERP status codes and Chicago wall-clock time to canonical form and back', () => {
    const erpOrders = compileMappings(load().config.mappings).forSystemEntity('erp', 'sales_order')!;
    const status = erpOrders.fields.find((b) => b.field === 'status')!;
    const promised = erpOrders.fields.find((b) => b.field === 'promised_at')!;
    expect(status.toCanonical('H')).toBe('on_hold');
    expect(status.fromCanonical('released')).toBe('R');
    // 2025-03-10 is daylight saving time in Chicago: UTC-5.
    expect(promised.toCanonical('2025-03-10T14:00:00')).toBe('2025-03-10T19:00:00Z');
    expect(promised.fromCanonical('2025-01-10T20:00:00Z')).toBe('2025-01-10T14:00:00');
  });

  it('keeps money at the columns\' scale', () => {
    const accounts = compileMappings(load().config.mappings).forSystemEntity('crm', 'customer')!;
    const credit = accounts.fields.find((b) => b.field === 'credit_limit')!;
    expect(credit.toCanonical('1500')).toBe('1500.00');
  });
});
