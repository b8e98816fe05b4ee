import { describe, expect, it } from 'vitest';
import { mappingSpec, type MappingSpec } from '../../src/config/spec';
import { ConfigError, UnknownTableError } from '../../src/errors';
import { compileMappings } from '../../src/transform';

const spec = (system: string, table: string, entity: string): MappingSpec =>
  mappingSpec.parse({ system, table, entity, key: { columns: ['id'] }, fields: { id: 'id' } });

const registry = compileMappings([
  spec('erp', 'sales.customer', 'customer'),
  spec('erp', 'item', 'product'),
  spec('crm', 'account', 'customer'),
]);

describe('MappingRegistry', () => {
  it('finds a table by system, schema and name; schema null means public', () => {
    expect(registry.forTable('erp', 'sales', 'customer').entity).toBe('customer');
    expect(registry.forTable('erp', 'public', 'item').entity).toBe('product');
    expect(registry.forTable('crm', null, 'account').system).toBe('crm');
  });

  it('names the system, the table and the mapped tables of an unknown table', () => {
    expect(() => registry.forTable('erp', 'public', 'customer')).toThrow(UnknownTableError);
    expect(() => registry.forTable('erp', 'public', 'customer'))
      .toThrow('no mapping for table public.customer of system erp (mapped tables of erp: sales.customer, public.item)');
    expect(() => registry.forTable('wms', 'public', 'x')).toThrow(/mapped tables of wms: none/);
  });

  it('finds mappings by entity', () => {
    expect(registry.forEntity('customer').map((m) => m.system)).toEqual(['erp', 'crm']);
    expect(registry.forEntity('invoice')).toEqual([]);
    expect(registry.forSystemEntity('crm', 'customer')?.table).toBe('public.account');
    expect(registry.forSystemEntity('crm', 'product')).toBeUndefined();
  });

  it('lists everything', () => {
    expect(registry.all()).toHaveLength(3);
    expect(registry.tablesOf('erp')).toEqual(['sales.customer', 'public.item']);
    expect(registry.tablesOf('wms')).toEqual([]);
  });

  it('refuses a table mapped twice and an entity held in two tables of one system', () => {
    expect(() => compileMappings([spec('erp', 'item', 'product'), spec('erp', 'public.item', 'customer')])).toThrow(ConfigError);
    expect(() => compileMappings([spec('erp', 'item', 'product'), spec('erp', 'article', 'product')]))
      .toThrow(/entity product is mapped from two tables of erp: public.item and public.article/);
  });
});
