import type { MappingSpec } from '../config/spec';
import { ConfigError, UnknownTableError } from '../errors';
import { compileMapping } from './mapping';
import type { Mapping } from './mapping-types';

/** All compiled mappings, looked up by source table or by entity. */
export interface MappingRegistry {
  /** The mapping of a captured table. `schema` null (a source without schemas) means `public`. Throws UnknownTableError. */
  forTable(system: string, schema: string | null, table: string): Mapping;
  /** Every mapping of an entity, one per system that holds it. */
  forEntity(entity: string): Mapping[];
  /** The table `system` holds `entity` in, if any. */
  forSystemEntity(system: string, entity: string): Mapping | undefined;
  all(): Mapping[];
  /** Qualified names (`schema.table`) of the mapped tables of `system`. */
  tablesOf(system: string): string[];
}

/**
 * Compiles every mapping. A table mapped twice, or an entity mapped from two
 * tables of one system, is a ConfigError: tandem writes an entity to exactly
 * one table per system, so either would make writes ambiguous.
 */
export function compileMappings(specs: readonly MappingSpec[]): MappingRegistry {
  const mappings = specs.map(compileMapping);
  const byTable = new Map<string, Mapping>();
  const bySystemEntity = new Map<string, Mapping>();
  for (const mapping of mappings) {
    const where = { system: mapping.system, table: mapping.table, entity: mapping.entity };
    const tableKey = `${mapping.system}:${mapping.table}`;
    if (byTable.has(tableKey)) throw new ConfigError(`table ${mapping.table} of ${mapping.system} is mapped twice`, where);
    byTable.set(tableKey, mapping);
    const entityKey = `${mapping.system}:${mapping.entity}`;
    const other = bySystemEntity.get(entityKey);
    if (other) throw new ConfigError(`entity ${mapping.entity} is mapped from two tables of ${mapping.system}: ${other.table} and ${mapping.table}`, where);
    bySystemEntity.set(entityKey, mapping);
  }
  const tablesOf = (system: string): string[] => mappings.filter((m) => m.system === system).map((m) => m.table);
  return {
    forTable(system, schema, table) {
      const qualified = `${schema ?? 'public'}.${table}`;
      const found = byTable.get(`${system}:${qualified}`);
      if (found) return found;
      const known = tablesOf(system);
      throw new UnknownTableError(
        `no mapping for table ${qualified} of system ${system} (mapped tables of ${system}: ${known.length > 0 ? known.join(', ') : 'none'})`,
        { system, table: qualified },
      );
    },
    forEntity: (entity) => mappings.filter((m) => m.entity === entity),
    forSystemEntity: (system, entity) => bySystemEntity.get(`${system}:${entity}`),
    all: () => [...mappings],
    tablesOf,
  };
}
