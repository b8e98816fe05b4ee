import type { Row, Value } from '../capture';
import type { TandemConfig } from '../config';
import { sameValue } from '../conflict/values';
import { compileMappings, type Fields, type Mapping, type MappingRegistry } from '../transform';
import { linksOf, readConflicts, readCrosswalk, readRecords, readTable, withClient, type CanonicalRow, type CrosswalkView } from './verdict-read';
import type { WorkloadRecord } from './workload-record';

export { formatVerdict } from './verdict-format';

export interface ConvergenceOptions {
  erpUrl: string;
  crmUrl: string;
  stateUrl: string;
  /** State store schema (stateStore.schema). */
  schema: string;
  config: TandemConfig;
  /** When given, the ERP-owned values it wrote last must have held. */
  workload?: WorkloadRecord;
  /** Compiled mappings; compiled from `config` when absent. */
  mappings?: MappingRegistry;
}

/** A value as shown in a mismatch: absent means the system has no row (or does not map the field). */
export interface Mismatch {
  entity: string;
  /** Canonical key, or `<system>:<local key>` for a row that no canonical record claims. */
  key: string;
  /** Canonical field, or `(row)` when a whole row is missing or unlinked. */
  field: string;
  erp?: Value;
  crm?: Value;
  canonical?: Value;
  /** For owner checks: the value the ERP workload wrote last. */
  expected?: Value;
  note?: string;
}

export interface EntityVerdict {
  records: number;
  fieldsCompared: number;
  mismatches: number;
  /** Rows missing in a system, or present but never linked to a live record. */
  missing: number;
  /** ERP-owned values checked against what the workload wrote last. */
  ownerChecks: number;
}

export interface Verdict {
  ok: boolean;
  entities: Record<string, EntityVerdict>;
  examples: Mismatch[];
  conflictsLogged: number;
  conflictsByRule: Record<string, number>;
}

const MAX_EXAMPLES = 20;
const SYSTEMS = ['erp', 'crm'] as const;
type System = (typeof SYSTEMS)[number];

/** A system's table, read and indexed by local key. */
interface TableView {
  system: System;
  mapping: Mapping;
  rows: Map<string, Row>;
}

/**
 * Checks, by reading both databases and the state store, that ERP and CRM
 * agree with each other and with the canonical record on every mapped field,
 * that no row exists on one side only, and that ERP-owned values the ERP
 * workload wrote last held (corrections went to the CRM, never the other way).
 */
export async function checkConvergence(options: ConvergenceOptions): Promise<Verdict> {
  const registry = options.mappings ?? compileMappings(options.config.mappings);
  const examples: Mismatch[] = [];
  const entities: Record<string, EntityVerdict> = {};
  return withClient(options.stateUrl, async (state) => {
    const crosswalk = await readCrosswalk(state, options.schema);
    for (const entity of Object.keys(options.config.entities)) {
      const tables = await readTables(options, registry.forEntity(entity));
      const records = await readRecords(state, options.schema, entity);
      const check = new EntityCheck(entity, tables, crosswalk, examples);
      check.compareRecords(records);
      check.findUnlinked(records);
      if (options.workload) check.checkOwned(records, options.workload, (field) => ownerOf(options.config, entity, field));
      entities[entity] = check.result;
    }
    const conflicts = await readConflicts(state, options.schema);
    const ok = Object.values(entities).every((e) => e.mismatches === 0);
    return { ok, entities, examples, conflictsLogged: conflicts.total, conflictsByRule: conflicts.byRule };
  });
}

async function readTables(options: ConvergenceOptions, mappings: Mapping[]): Promise<TableView[]> {
  const views: TableView[] = [];
  for (const system of SYSTEMS) {
    const mapping = mappings.find((m) => m.system === system);
    if (!mapping) continue;
    const url = system === 'erp' ? options.erpUrl : options.crmUrl;
    const rows = await withClient(url, (client) => readTable(client, mapping.schema, mapping.tableName));
    views.push({ system, mapping, rows: new Map(rows.map((row) => [mapping.localKeyOf(row), row])) });
  }
  return views;
}

/** The system that owns a field, or null for a shared (latest-wins) field. */
function ownerOf(config: TandemConfig, entity: string, field: string): string | null {
  const spec = config.entities[entity];
  const rule = spec?.fields[field];
  if (rule?.policy === 'latest-wins') return null;
  return rule?.owner ?? spec?.owner ?? null;
}

class EntityCheck {
  readonly result: EntityVerdict = { records: 0, fieldsCompared: 0, mismatches: 0, missing: 0, ownerChecks: 0 };

  constructor(
    private readonly entity: string,
    private readonly tables: TableView[],
    private readonly crosswalk: CrosswalkView,
    private readonly examples: Mismatch[],
  ) {}

  compareRecords(records: CanonicalRow[]): void {
    const fields = [...new Set(this.tables.flatMap((t) => t.mapping.fields.filter((b) => !b.readOnly).map((b) => b.field)))];
    for (const record of records.filter((r) => !r.deleted)) {
      this.result.records += 1;
      const views = this.tables.map((table) => ({ table, fields: this.viewOf(table, record.key) }));
      for (const { table, fields: view } of views) {
        if (!view) this.missing({ key: record.key, field: '(row)', note: `no ${table.system} row linked to this record` });
      }
      for (const field of fields) this.compareField(record, field, views);
    }
  }

  private compareField(record: CanonicalRow, field: string, views: { table: TableView; fields: Fields | null }[]): void {
    const canonical = record.fields[field] ?? null;
    const shown: Mismatch = { entity: this.entity, key: record.key, field, canonical };
    let agree = true;
    for (const { table, fields } of views) {
      if (!fields || !table.mapping.fields.some((b) => b.field === field)) continue;
      const value = fields[field] ?? null;
      shown[table.system] = value;
      if (!sameValue(value, canonical)) agree = false;
    }
    this.result.fieldsCompared += 1;
    if (!agree) this.mismatch(shown);
  }

  /** Rows that exist in a system without belonging to a live canonical record. */
  findUnlinked(records: CanonicalRow[]): void {
    const live = new Set(records.filter((r) => !r.deleted).map((r) => r.key));
    for (const table of this.tables) {
      const links = linksOf(this.crosswalk, this.entity, table.system);
      for (const localKey of table.rows.keys()) {
        const key = links.toCanonical.get(localKey);
        if (key !== undefined && live.has(key)) continue;
        const note = key === undefined ? 'row never linked in the crosswalk' : 'row of a deleted record';
        this.missing({ key: `${table.system}:${localKey}`, field: '(row)', note });
      }
    }
  }

  /** The ERP must still hold the last value the ERP workload wrote to each field it owns. */
  checkOwned(records: CanonicalRow[], workload: WorkloadRecord, owner: (field: string) => string | null): void {
    const erp = this.tables.find((t) => t.system === 'erp');
    const writes = erp ? workload.lastErpWrites[erp.mapping.tableName] : undefined;
    if (!erp || !writes) return;
    const byKey = new Map(records.map((r) => [r.key, r]));
    const links = linksOf(this.crosswalk, this.entity, 'erp');
    for (const [localKey, columns] of Object.entries(writes)) {
      for (const [column, written] of Object.entries(columns)) {
        const binding = erp.mapping.fields.find((b) => b.column === column);
        if (!binding || owner(binding.field) !== 'erp') continue;
        this.result.ownerChecks += 1;
        const row = erp.rows.get(localKey);
        const expected = safeConvert(() => binding.toCanonical(written));
        const actual = row ? safeConvert(() => binding.toCanonical(row[column] ?? null)) : undefined;
        if (actual !== undefined && sameValue(actual, expected)) continue;
        const canonicalKey = links.toCanonical.get(localKey);
        const record = canonicalKey ? byKey.get(canonicalKey) : undefined;
        this.mismatch({
          entity: this.entity, key: canonicalKey ?? `erp:${localKey}`, field: binding.field,
          erp: actual, canonical: record?.fields[binding.field], expected, note: 'the ERP-owned value the ERP wrote last did not hold',
        });
      }
    }
  }

  /** A system's row of a record in canonical form (refs as canonical keys), or null when it has none. */
  private viewOf(table: TableView, key: string): Fields | null {
    const localKey = linksOf(this.crosswalk, this.entity, table.system).toLocal.get(key);
    const row = localKey === undefined ? undefined : table.rows.get(localKey);
    if (!row) return null;
    const fields: Fields = {};
    for (const binding of table.mapping.fields) {
      const raw = row[binding.column] ?? null;
      if (binding.ref === null) fields[binding.field] = safeConvert(() => binding.toCanonical(raw));
      else fields[binding.field] = raw === null ? null : this.refKey(binding.ref, table.system, String(raw));
    }
    return fields;
  }

  private refKey(entity: string, system: System, localKey: string): Value {
    return linksOf(this.crosswalk, entity, system).toCanonical.get(localKey) ?? `(unlinked ${system} ${entity} ${localKey})`;
  }

  private missing(m: Omit<Mismatch, 'entity'>): void {
    this.result.missing += 1;
    this.mismatch({ entity: this.entity, ...m });
  }

  private mismatch(m: Mismatch): void {
    this.result.mismatches += 1;
    if (this.examples.length < MAX_EXAMPLES) this.examples.push(m);
  }
}

/** A value that will not convert is itself a finding: shown in the mismatch, not thrown. */
function safeConvert(convert: () => Value): Value {
  try {
    return convert();
  } catch (error) {
    return `(unconvertible: ${error instanceof Error ? error.message : String(error)})`;
  }
}
