import { checkConsistency, configSpec, entitySpec, type EntitySpec, type Problem, type TandemConfig } from '../../src/config';

export function entityOf(spec: unknown): EntitySpec {
  return entitySpec.parse(spec);
}

const SYSTEMS = ['erp_old', 'erp_new', 'crm'] as const;

/** A three-system configuration (erp_old, erp_new, crm) whose customer has these field rules, and cutover wave1. */
export function migrationConfig(fields: Record<string, unknown>, cutovers: Record<string, unknown> = { wave1: { at: '2026-12-01T00:00:00Z' } }): TandemConfig {
  return configSpec.parse({
    stateStore: { url: { env: 'X' } },
    systems: Object.fromEntries(SYSTEMS.map((s) => [s, { type: 'postgres', url: { env: 'X' } }])),
    cutovers,
    entities: { customer: { owner: 'erp_old', fields } },
    mappings: SYSTEMS.map((system) => ({ system, table: 'customers', entity: 'customer', key: { columns: ['id'] }, fields: { id: 'id', name: 'name', credit_limit: 'credit_limit' } })),
  });
}

/** The consistency check's problems with the customer's field rules. */
export function cutoverProblemsOf(fields: Record<string, unknown>): Problem[] {
  return checkConsistency(migrationConfig(fields));
}
