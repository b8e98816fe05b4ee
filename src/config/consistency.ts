import { connectorOf } from '../connectors';
import type { FieldRuleSpec, TandemConfig } from './spec';
import { cutoverProblems, ownerVersionsOf } from './cutovers';

export interface Problem {
  path: string;
  message: string;
}

/** Checks what the schema alone cannot: names that must refer to each other. */
export function checkConsistency(config: TandemConfig): Problem[] {
  const problems: Problem[] = [];
  const systems = new Set(Object.keys(config.systems));
  const entities = new Set(Object.keys(config.entities));
  const mappedFields = new Map<string, Set<string>>();
  const tables = new Set<string>();

  config.mappings.forEach((mapping, i) => {
    const at = `mappings[${i}]`;
    if (!systems.has(mapping.system)) problems.push({ path: `${at}.system`, message: `unknown system "${mapping.system}" (systems: ${[...systems].join(', ')})` });
    if (!entities.has(mapping.entity)) problems.push({ path: `${at}.entity`, message: `unknown entity "${mapping.entity}" (entities: ${[...entities].join(', ')})` });
    const tableKey = `${mapping.system}:${qualified(mapping.table)}`;
    if (tables.has(tableKey)) problems.push({ path: `${at}.table`, message: `table ${mapping.table} of ${mapping.system} is mapped twice` });
    tables.add(tableKey);
    const fields = mappedFields.get(mapping.entity) ?? new Set<string>();
    mappedFields.set(mapping.entity, fields);
    const columns = new Map<string, string>();
    for (const [field, spec] of Object.entries(mapping.fields)) {
      fields.add(field);
      const column = typeof spec === 'string' ? spec : spec.column;
      const other = columns.get(column);
      if (other) problems.push({ path: `${at}.fields.${field}`, message: `column ${column} is already mapped to field ${other}` });
      columns.set(column, field);
      if (typeof spec !== 'string' && spec.ref && !entities.has(spec.ref)) {
        problems.push({ path: `${at}.fields.${field}.ref`, message: `unknown entity "${spec.ref}"` });
      }
    }
    const generated = mapping.key.generated;
    const target = config.systems[mapping.system];
    if (typeof generated === 'object' && target && connectorOf(target).dialect === null) {
      problems.push({ path: `${at}.key.generated`, message: `a ${connectorOf(target).label} system assigns its ids itself: an allocated key is for SQL systems` });
    }
    if (typeof generated === 'object' && mapping.key.columns.length !== 1) {
      problems.push({ path: `${at}.key.generated`, message: `an allocated key fills one key column, not ${mapping.key.columns.length}` });
    }
    if (mapping.exceptionFields) {
      for (const which of ['status', 'error'] as const) {
        const column = mapping.exceptionFields[which];
        const field = columns.get(column);
        if (field) problems.push({ path: `${at}.exceptionFields.${which}`, message: `column ${column} is mapped to field ${field}; exception columns are tandem's own (not canonical fields)` });
        if (mapping.key.columns.includes(column)) problems.push({ path: `${at}.exceptionFields.${which}`, message: `column ${column} is a key column` });
      }
    }
    if (generated === 'none') {
      for (const column of mapping.key.columns) {
        if (!columns.has(column)) problems.push({ path: `${at}.key.columns`, message: `key column ${column} is not mapped to a field, so tandem could not make the key of rows it inserts (map it, or set key.generated to uuid or database)` });
      }
    }
  });

  for (const [i, entity] of (config.reconcile?.entities ?? []).entries()) {
    if (!entities.has(entity)) problems.push({ path: `reconcile.entities[${i}]`, message: `unknown entity "${entity}" (entities: ${[...entities].join(', ')})` });
  }
  for (const [name, entity] of Object.entries(config.entities)) {
    const at = `entities.${name}`;
    if (!systems.has(entity.owner)) problems.push({ path: `${at}.owner`, message: `unknown system "${entity.owner}"` });
    entity.priority.forEach((system, i) => {
      if (!systems.has(system)) problems.push({ path: `${at}.priority[${i}]`, message: `unknown system "${system}"` });
    });
    entity.create?.forEach((system, i) => {
      if (!systems.has(system)) problems.push({ path: `${at}.create[${i}]`, message: `unknown system "${system}"` });
    });
    const ruled = new Map<string, string>();
    const rules = [
      ...Object.entries(entity.fields).map(([field, rule]) => ({ fields: [field], rule, path: `${at}.fields.${field}` })),
      ...Object.entries(entity.groups).map(([group, rule]) => ({ fields: rule.fields, rule, path: `${at}.groups.${group}` })),
    ];
    for (const { fields, rule, path } of rules) {
      problems.push(...ownerNameProblems(rule, path, systems));
      if (rule.owner && rule.policy && rule.policy !== 'owner') problems.push({ path, message: `a field has either an owner or the ${rule.policy} policy, not both` });
      if (rule.transitions && rule.policy && rule.policy !== 'owner') problems.push({ path: `${path}.transitions`, message: 'transitions apply to owned (workflow) fields only' });
      for (const field of fields) {
        if (!mappedFields.get(name)?.has(field)) problems.push({ path, message: `no mapping of entity ${name} has a field ${field}` });
        const other = ruled.get(field);
        if (other) problems.push({ path, message: `field ${field} already has a rule at ${other}` });
        ruled.set(field, path);
      }
    }
    if (!mappedFields.has(name)) problems.push({ path: at, message: `no mapping maps entity ${name}` });
  }

  problems.push(...cutoverProblems(config));

  for (const [name, system] of Object.entries(config.systems)) {
    if (system.capture && system.debezium) {
      problems.push({ path: `systems.${name}`, message: 'a system is captured natively (capture) or through Debezium (debezium), not both' });
    }
    problems.push(...(connectorOf(system).config.consistency?.(config, name) ?? []));
    if (system.debezium && !config.kafka) {
      problems.push({ path: `systems.${name}.debezium`, message: 'capture through Debezium needs the top-level kafka section (brokers)' });
    }
  }
  return problems;
}

/** Systems a field rule names (its owner or owners over time, and their transition lists) that do not exist. */
function ownerNameProblems(rule: FieldRuleSpec, path: string, systems: ReadonlySet<string>): Problem[] {
  const problems: Problem[] = [];
  const unknown = (system: string, at: string) => {
    if (!systems.has(system)) problems.push({ path: at, message: `unknown system "${system}"` });
  };
  const versions = ownerVersionsOf(rule);
  if (typeof rule.owner === 'string') unknown(rule.owner, `${path}.owner`);
  versions?.forEach((version, i) => {
    if (version.system !== undefined) unknown(version.system, `${path}.owner[${i}].system`);
    for (const system of Object.keys(version.transitions ?? {})) unknown(system, `${path}.owner[${i}].transitions.${system}`);
  });
  for (const system of Object.keys(rule.transitions ?? {})) unknown(system, `${path}.transitions.${system}`);
  return problems;
}

export function qualified(table: string): string {
  return table.includes('.') ? table : `public.${table}`;
}
