import type { Row, Value } from '../capture';
import { runCompare, type CompareReport, type Difference } from '../compare';
import { ownerAt, type LoadedConfig, type TandemConfig } from '../config';
import { sameValue } from '../conflict/values';
import { connectStateStore } from '../store';
import { compileMappings, type Mapping, type MappingRegistry } from '../transform';
import { linksOf, readConflicts, readCrosswalk, readRecords, readTable, withClient, type CanonicalRow } from './verdict-read';
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
  /** The compare run the verdict rests on (`tandem compare`). */
  compare: { runId: string; durationMs: number; rowsRead: number; rowsHashed: number };
}

const MAX_EXAMPLES = 20;

/**
 * The demo's verdict: `tandem compare` over every entity (the two systems
 * and the canonical record agree on every mapped field, no row exists on one
 * side only), plus the demo's own check that the ERP-owned values the ERP
 * workload wrote last held (corrections went to the CRM, never the other way).
 */
export async function checkConvergence(options: ConvergenceOptions): Promise<Verdict> {
  const registry = options.mappings ?? compileMappings(options.config.mappings);
  const store = connectStateStore(options.stateUrl, 2);
  let report: CompareReport;
  try {
    report = await runCompare({ loaded: loadedFor(options), store, env: envFor(options), limit: MAX_EXAMPLES });
  } finally {
    await store.destroy();
  }
  const examples: Mismatch[] = [];
  const entities: Record<string, EntityVerdict> = {};
  for (const entity of Object.keys(options.config.entities)) {
    const found = report.entities.find((e) => e.entity === entity);
    const fields = new Set(registry.forEntity(entity).flatMap((m) => m.fields.filter((f) => !f.readOnly).map((f) => f.field)));
    const rows = found ? found.byKind.missing + found.byKind.unlinked + found.byKind.deleted : 0;
    entities[entity] = {
      records: found?.records ?? 0,
      fieldsCompared: (found?.records ?? 0) * fields.size,
      mismatches: rows + (found?.byKind.field ?? 0),
      missing: rows,
      ownerChecks: 0,
    };
    for (const d of found?.differences ?? []) if (examples.length < MAX_EXAMPLES) examples.push(mismatchOf(d));
  }
  if (options.workload) await checkOwned(options, registry, options.workload, entities, examples);
  const conflicts = await withClient(options.stateUrl, (client) => readConflicts(client, options.schema));
  const ok = Object.values(entities).every((e) => e.mismatches === 0);
  const rowsRead = report.entities.reduce((n, e) => n + e.rowsRead, 0);
  const rowsHashed = report.entities.reduce((n, e) => n + e.rowsHashed, 0);
  return {
    ok, entities, examples, conflictsLogged: conflicts.total, conflictsByRule: conflicts.byRule,
    compare: { runId: report.runId, durationMs: report.durationMs, rowsRead, rowsHashed },
  };
}

/** The demo's configuration as compare loads one; its systems' URLs come from the options. */
function loadedFor(options: ConvergenceOptions): LoadedConfig {
  return { config: options.config, file: '(demo)', version: 'demo', overrides: [] };
}

function envFor(options: ConvergenceOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [system, url] of [['erp', options.erpUrl], ['crm', options.crmUrl]] as const) {
    const ref = options.config.systems[system]?.url;
    if (ref && 'env' in ref) env[ref.env] = url;
  }
  return env;
}

function mismatchOf(d: Difference): Mismatch {
  const m: Mismatch = { entity: d.entity, key: d.key, field: d.field ?? '(row)' };
  if (d.kind === 'field') {
    for (const system of ['erp', 'crm', 'canonical'] as const) if (d.values[system] !== undefined) m[system] = d.values[system];
    if (d.explained) m.note = `explained by ${d.explained.by} #${d.explained.id}`;
    return m;
  }
  const note = { missing: `no ${d.wrong.join(', ')} row linked to this record`, unlinked: 'row never linked in the crosswalk', deleted: 'row of a deleted record' }[d.kind];
  return { ...m, note };
}

/** The ERP must still hold the last value the ERP workload wrote to each field it owns. */
async function checkOwned(
  options: ConvergenceOptions, registry: MappingRegistry, workload: WorkloadRecord, entities: Record<string, EntityVerdict>, examples: Mismatch[],
): Promise<void> {
  await withClient(options.stateUrl, async (state) => {
    const crosswalk = await readCrosswalk(state, options.schema);
    for (const entity of Object.keys(options.config.entities)) {
      const erp = registry.forSystemEntity('erp', entity);
      const writes = erp ? workload.lastErpWrites[erp.tableName] : undefined;
      if (!erp || !writes) continue;
      const rows = await withClient(options.erpUrl, (client) => readTable(client, erp.schema, erp.tableName));
      const byLocalKey = new Map(rows.map((row) => [erp.localKeyOf(row), row]));
      const records = new Map((await readRecords(state, options.schema, entity)).map((r) => [r.key, r]));
      const links = linksOf(crosswalk, entity, 'erp');
      const verdict = entities[entity]!;
      for (const [localKey, columns] of Object.entries(writes)) {
        for (const [column, written] of Object.entries(columns)) {
          const found = ownedMismatch(options.config, entity, erp, byLocalKey.get(localKey), column, written);
          if (found === null) continue;
          verdict.ownerChecks += 1;
          if (found === 'held') continue;
          verdict.mismatches += 1;
          const canonicalKey = links.toCanonical.get(localKey);
          const record: CanonicalRow | undefined = canonicalKey ? records.get(canonicalKey) : undefined;
          if (examples.length < MAX_EXAMPLES) {
            examples.push({
              entity, key: canonicalKey ?? `erp:${localKey}`, field: found.field, erp: found.actual, canonical: record?.fields[found.field],
              expected: found.expected, note: 'the ERP-owned value the ERP wrote last did not hold',
            });
          }
        }
      }
    }
  });
}

/** null: not an ERP-owned mapped column; 'held': the value holds; else what differs. */
function ownedMismatch(config: TandemConfig, entity: string, erp: Mapping, row: Row | undefined, column: string, written: Value) {
  const binding = erp.fields.find((b) => b.column === column);
  if (!binding || ownerOf(config, entity, binding.field) !== 'erp') return null;
  const expected = safeConvert(() => binding.toCanonical(written));
  const actual = row ? safeConvert(() => binding.toCanonical(row[column] ?? null)) : undefined;
  if (actual !== undefined && sameValue(actual, expected)) return 'held' as const;
  return { field: binding.field, expected, actual };
}

/** The system that owns a field, or null for a shared (latest-wins) field. */
function ownerOf(config: TandemConfig, entity: string, field: string): string | null {
  const spec = config.entities[entity];
  const rule = spec?.fields[field];
  if (rule?.policy === 'latest-wins' || !spec) return null;
  return ownerAt(rule ?? {}, spec.owner, config.cutovers, Date.now());
}

function safeConvert(convert: () => Value): Value {
  try {
    return convert();
  } catch (error) {
    return `(unconvertible: ${error instanceof Error ? error.message : String(error)})`;
  }
}
