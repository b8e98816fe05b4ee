/** The mappings as the preflight reads them: per table, the columns tandem reads and writes. */
import { ownersOf, qualified, type ConverterSpec, type EntitySpec, type FieldRuleSpec, type MappingSpec, type TandemConfig } from '../config';

export interface MappedColumn {
  field: string;
  column: string;
  convert: ConverterSpec[];
  /** Holds another entity's key (translated through the crosswalk, so its values differ between systems). */
  ref: string | null;
  readOnly: boolean;
}

export interface MappedTable {
  system: string;
  entity: string;
  /** `schema.table` (MySQL: `database.table`), as tandem qualifies it. */
  table: string;
  schema: string;
  name: string;
  /** Index in `mappings`, for config paths. */
  index: number;
  keyColumns: string[];
  columns: MappedColumn[];
  spec: MappingSpec;
}

export function mappedTables(config: TandemConfig): MappedTable[] {
  return config.mappings.map((spec, index) => {
    const table = qualified(spec.table);
    const dot = table.indexOf('.');
    const columns = Object.entries(spec.fields).map(([field, f]): MappedColumn => (typeof f === 'string'
      ? { field, column: f, convert: [], ref: null, readOnly: false }
      : { field, column: f.column, convert: f.convert, ref: f.ref ?? null, readOnly: f.readOnly }));
    return { system: spec.system, entity: spec.entity, table, schema: table.slice(0, dot), name: table.slice(dot + 1), index, keyColumns: spec.key.columns, columns, spec };
  });
}

/**
 * Key columns a generator fills when tandem inserts a row: `uuid` (tandem),
 * `database` (the column's default, read back) and any generator form added
 * later (a sequence, an SQL expression: `generated` as an object). Only
 * `none` leaves them to the mapped fields.
 */
export function generatorFills(spec: MappingSpec): 'none' | 'database' | 'other' {
  const generated: unknown = spec.key.generated;
  if (generated === undefined || generated === 'none') return 'none';
  return generated === 'database' ? 'database' : 'other';
}

/** Systems whose changes tandem reads (natively or through Debezium). */
export function isCaptured(config: TandemConfig, system: string): boolean {
  const spec = config.systems[system];
  return spec !== undefined && (spec.capture !== undefined || spec.debezium !== undefined);
}

/** Converters that change what a value looks like (not only its case or spacing): a type comparison means nothing across them. */
export function reshapes(convert: readonly ConverterSpec[]): boolean {
  return convert.some((c) => typeof c !== 'string');
}

/**
 * Whether a table's captured changes are decided with their before-images:
 * it maps a field whose rule is shared (latest-wins, max, min, first-wins,
 * manual) or owned by another system. Without a before-image every mapped
 * field of an update counts as changed, so a stale copy of such a field is
 * re-sent as an edit (and can win a latest-wins race it never entered).
 * A table whose every mapped field this system owns loses nothing.
 */
export function reliesOnBeforeImages(config: TandemConfig, table: MappedTable): string | null {
  const entity = config.entities[table.entity];
  if (!entity) return null;
  for (const { field } of table.columns) {
    const rule = ruleOf(entity, field);
    if (rule.policy && rule.policy !== 'owner') return `${table.entity}.${field} is ${rule.policy}`;
    const shared = Array.isArray(rule.owner) ? rule.owner.find((v) => v.policy !== undefined) : undefined;
    if (shared) return `${table.entity}.${field} is ${shared.policy} from ${shared.from ?? 'the start'}`;
    const other = ownersOf(rule, entity.owner).find((owner) => owner !== table.system);
    if (other !== undefined) return `${table.entity}.${field} is owned by ${other}${Array.isArray(rule.owner) ? ' (at some time)' : ''}`;
  }
  return null;
}

function ruleOf(entity: EntitySpec, field: string): Pick<FieldRuleSpec, 'owner' | 'policy'> {
  const direct = entity.fields[field];
  if (direct) return direct;
  const group = Object.values(entity.groups).find((g) => g.fields.includes(field));
  return group ?? {};
}
