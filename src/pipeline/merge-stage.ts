/**
 * The resolve stage's side of record merges (`entities.<e>.merge`, decided in
 * src/conflict/merge.ts). Inside the batch's state-store transaction:
 * - references that still name a merged-away record are led to its survivor,
 *   and the system that sent them is corrected to the survivor;
 * - merges the batch shows (re-pointed children and a delete in one source
 *   transaction, or rows of a merge table) are stored, logged as `merged`
 *   decisions, the loser's crosswalk links retired, and every child record
 *   still pointing at the loser (orders only another system had, or ones in
 *   flight) re-pointed in every system.
 */
import type { Knex } from 'knex';
import type { ChangeEvent } from '../capture';
import {
  detectRepointMerges, followMerges, mergeEntry, mergeTableKeys, repointRecord,
  type ConflictEntry, type Decision, type MergeDetection, type MergeFound, type MergeObservation,
} from '../conflict';
import type { TandemConfig } from '../config';
import { lockRecordRows, lockRecords, recordMerges, recordsReferencing, saveRecords, survivorsOf, type DeadLetter, type KnexCrosswalk, type NewTask } from '../store';
import type { CanonicalChange, CanonicalRecord, MappingRegistry } from '../transform';

export interface MergeSettings {
  /** How each entity with a `merge:` setting shows a merge. */
  detection: ReadonlyMap<string, MergeDetection>;
  /** Per merged entity: the child entities and fields that reference it. */
  children: ReadonlyMap<string, ReadonlyArray<{ entity: string; field: string }>>;
  /** Merge tables, per system, by qualified name (`schema.table`). */
  tables: ReadonlyMap<string, ReadonlyMap<string, { entity: string; loser: string; survivor: string }>>;
}

/** The merge settings of a configuration; null when no entity merges (nothing to do per batch). */
export function mergeSettings(config: TandemConfig, registry: MappingRegistry): MergeSettings | null {
  const detection = new Map<string, MergeDetection>();
  for (const [entity, spec] of Object.entries(config.entities)) if (spec.merge) detection.set(entity, spec.merge);
  if (detection.size === 0) return null;
  const children = new Map<string, Array<{ entity: string; field: string }>>();
  const seen = new Set<string>();
  for (const mapping of registry.all()) {
    for (const binding of mapping.fields) {
      if (!binding.ref || !detection.has(binding.ref) || seen.has(`${mapping.entity}.${binding.field}`)) continue;
      seen.add(`${mapping.entity}.${binding.field}`);
      children.set(binding.ref, [...(children.get(binding.ref) ?? []), { entity: mapping.entity, field: binding.field }]);
    }
  }
  const tables = new Map<string, Map<string, { entity: string; loser: string; survivor: string }>>();
  for (const [entity, spec] of detection) {
    if (!('table' in spec)) continue;
    const system = spec.system ?? config.entities[entity]!.owner;
    for (const mapping of registry.forEntity(entity).filter((m) => m.system === system)) {
      const schema = mapping.table.includes('.') ? mapping.table.slice(0, mapping.table.lastIndexOf('.')) : 'public';
      const qualified = spec.table.includes('.') ? spec.table : `${schema}.${spec.table}`;
      const bySystem = tables.get(mapping.system) ?? new Map();
      bySystem.set(qualified, { entity, loser: spec.loser, survivor: spec.survivor });
      tables.set(mapping.system, bySystem);
    }
  }
  return { detection, children, tables };
}

/** Merge tables a system's capture must read besides its mapped tables. */
export function mergeTablesOf(settings: MergeSettings | null, system: string): string[] {
  return [...(settings?.tables.get(system)?.keys() ?? [])];
}

/** A merge-table row captured in a batch, before its keys are translated. */
export interface MergeRow {
  entity: string;
  loser: string;
  survivor: string;
  event: ChangeEvent;
}

/** The merge row an event of a merge table carries; null when the event is no such row (an update, a delete). */
export function mergeRowOf(settings: MergeSettings | null, event: ChangeEvent): MergeRow | { table: true; invalid: string } | null {
  const tables = settings?.tables.get(event.source.system);
  if (!tables) return null; // the hot path: no merge table in this system
  const spec = tables.get(`${event.source.schema ?? 'public'}.${event.source.table}`);
  if (!spec) return null;
  if ((event.op !== 'c' && event.op !== 'r') || !event.after) return { table: true, invalid: '' };
  const keys = mergeTableKeys(event.after, spec);
  if ('invalid' in keys) return { table: true, invalid: keys.invalid };
  return { entity: spec.entity, ...keys, event };
}

/** For each change, the canonical value each of its references to a merging entity held before it (in batch order). */
export function priorReferences(changes: readonly CanonicalChange[], records: ReadonlyMap<string, CanonicalRecord>, settings: MergeSettings, mapKey: (entity: string, key: string) => string): Array<Record<string, string | null>> {
  const current = new Map<string, Record<string, string | null>>();
  return changes.map((change) => {
    const id = mapKey(change.entity, change.key!);
    const known = current.get(id) ?? fromRecord(records.get(id), change, settings);
    const prior = { ...known };
    const next = { ...known };
    for (const field of Object.keys(prior)) if (change.after && field in change.after) next[field] = asKey(change.after[field]);
    current.set(id, next);
    return prior;
  });
}

function fromRecord(record: CanonicalRecord | undefined, change: CanonicalChange, settings: MergeSettings): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [field, ref] of Object.entries(change.refs)) if (settings.detection.has(ref.entity)) out[field] = asKey(record && !record.deleted ? record.fields[field] : null);
  return out;
}

const asKey = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** A reference rewritten from a merged-away record to its survivor. */
export interface Redirect {
  change: CanonicalChange;
  field: string;
  from: string;
  to: string;
}

/** Leads references to merged-away records to their survivors (in `change.after`). */
export async function redirectMergedReferences(trx: Knex.Transaction, schema: string, changes: readonly CanonicalChange[], settings: MergeSettings): Promise<Redirect[]> {
  const wanted = new Map<string, Set<string>>();
  for (const change of changes) {
    for (const [field, ref] of Object.entries(change.refs)) {
      const value = change.after?.[field];
      if (settings.detection.has(ref.entity) && typeof value === 'string') wanted.set(ref.entity, (wanted.get(ref.entity) ?? new Set()).add(value));
    }
  }
  // Another source's batch may be merging a referenced record away right now, unable to see these references yet.
  // Its delete holds the record's row lock (carryOutMerges takes it for merge-table merges): waiting for a share
  // lock orders the two batches, so either this one sees the merge and redirects, or the merge, committing after
  // this batch, finds these references and re-points them. Without it both miss each other and the reference is orphaned.
  for (const [entity, keys] of wanted) await lockRecordRows(trx, schema, entity, [...keys], 'share');
  const survivors = new Map<string, Map<string, string>>();
  for (const [entity, keys] of wanted) survivors.set(entity, await survivorsOf(trx, schema, entity, [...keys]));
  const redirects: Redirect[] = [];
  for (const change of changes) {
    for (const [field, ref] of Object.entries(change.refs)) {
      const from = change.after?.[field];
      const map = survivors.get(ref.entity);
      if (typeof from !== 'string' || !map || map.size === 0) continue;
      const to = followMerges(from, map);
      if (to === from) continue;
      change.after![field] = to;
      redirects.push({ change, field, from, to });
    }
  }
  return redirects;
}

/** The system that still named the loser is told the survivor (when the change it sent was accepted). */
export function correctRedirected(redirects: readonly Redirect[], decided: ReadonlyArray<{ decision: Decision; change: CanonicalChange }>): void {
  for (const { change, field, from, to } of redirects) {
    const found = decided.find((d) => d.change === change);
    if (!found || found.decision.record.deleted || found.decision.record.fields[field] !== to) continue;
    found.decision.writes.push({ system: change.system, op: 'upsert', fields: { [field]: to }, expected: { [field]: from }, reason: 'correct' });
    found.decision.record.shadows[change.system] = { ...found.decision.record.shadows[change.system], [field]: to };
  }
}

/** Merges by re-pointed references among the batch's changes. */
export function repointMerges(changes: readonly CanonicalChange[], prior: ReadonlyArray<Record<string, string | null>>, settings: MergeSettings): MergeFound[] {
  const entities = new Set([...settings.detection].filter(([, d]) => 'detect' in d).map(([e]) => e));
  if (entities.size === 0) return [];
  const observations: MergeObservation[] = changes.map((change, i) => ({
    system: change.system,
    txId: change.event.source.txId,
    entity: change.entity,
    key: change.key!,
    kind: change.kind,
    refs: Object.entries(prior[i] ?? {})
      .filter(([field]) => change.after !== null && field in change.after)
      .map(([field, before]) => ({ field, entity: change.refs[field]!.entity, before, after: asKey(change.after![field]) })),
  }));
  return detectRepointMerges(observations, entities);
}

/** Merge-table rows as merges of canonical keys; a row naming a record tandem never saw is parked. */
export async function tableMerges(rows: readonly MergeRow[], crosswalk: KnexCrosswalk): Promise<{ merges: Array<MergeFound & { event: ChangeEvent }>; letters: DeadLetter[] }> {
  const merges: Array<MergeFound & { event: ChangeEvent }> = [];
  const letters: DeadLetter[] = [];
  for (const row of rows) {
    const { system } = row.event.source;
    const keys = await crosswalk.canonicalKeys(row.entity, system, [row.loser, row.survivor]);
    const loser = keys.get(row.loser);
    const survivor = keys.get(row.survivor);
    if (loser === undefined || survivor === undefined) {
      letters.push(mergeLetter(row.event, 'MERGE_UNKNOWN_RECORD', `merge of ${row.entity} ${row.loser} into ${row.survivor}: ${loser === undefined ? row.loser : row.survivor} is not known to tandem`));
      continue;
    }
    merges.push({ entity: row.entity, loser, survivor, system, txId: row.event.source.txId, via: 'table', children: [], event: row.event });
  }
  return { merges, letters };
}

export function mergeLetter(event: ChangeEvent, errorCode: string, error: string): DeadLetter {
  const { system, schema, table, position } = event.source;
  return { kind: 'event', system, table: `${schema ?? ''}.${table}`, position, correlationId: event.correlationId, errorCode, error, payload: event };
}

/**
 * Stores the merges, logs them, and re-points every live child still
 * referencing a loser. Returns the conflict entries and the outbox tasks.
 */
export async function carryOutMerges(
  trx: Knex.Transaction, schema: string, merges: ReadonlyArray<MergeFound & { event: ChangeEvent }>, settings: MergeSettings,
  writableFields: (entity: string) => ReadonlyMap<string, ReadonlySet<string>>,
): Promise<{ conflicts: ConflictEntry[]; tasks: NewTask[] }> {
  const conflicts: ConflictEntry[] = [];
  const tasks: NewTask[] = [];
  merges = await notYetMerged(trx, schema, merges);
  if (merges.length === 0) return { conflicts, tasks };
  await recordMerges(trx, schema, merges.map((m) => ({ entity: m.entity, loser: m.loser, survivor: m.survivor, system: m.system, correlationId: m.event.correlationId })));
  for (const merge of merges) {
    const { source } = merge.event;
    const at = { table: `${source.schema ?? ''}${source.schema ? '.' : ''}${source.table}`, position: source.position, commitTimeMs: source.commitTimeMs, correlationId: merge.event.correlationId };
    conflicts.push(mergeEntry(merge, at));
    const provenance = { system: merge.system, commitTimeMs: source.commitTimeMs, position: source.position, correlationId: merge.event.correlationId };
    // Waits for batches still holding a share lock on the loser (they reference it and have not committed yet).
    await lockRecordRows(trx, schema, merge.entity, [merge.loser], 'update');
    for (const child of settings.children.get(merge.entity) ?? []) {
      const keys = await recordsReferencing(trx, schema, child.entity, child.field, merge.loser);
      if (keys.length === 0) continue;
      const locked = await lockRecords(trx, schema, keys.map((key) => ({ entity: child.entity, key })));
      const changed: CanonicalRecord[] = [];
      for (const record of locked.values()) {
        if (record.fields[child.field] !== merge.loser) continue;
        const { record: next, writes } = repointRecord(record, child.field, merge.survivor, writableFields(child.entity), provenance);
        changed.push(next);
        for (const write of writes) {
          tasks.push({
            target: write.system, entity: next.entity, key: next.key, op: write.op, fields: write.fields, expected: write.expected,
            record: next.fields, reason: write.reason, correlationId: merge.event.correlationId, commitTimeMs: source.commitTimeMs,
          });
        }
      }
      await saveRecords(trx, schema, changed);
    }
  }
  return { conflicts, tasks };
}

/** A redelivered merge (its row, or its batch, read again) is carried out once. */
async function notYetMerged<T extends MergeFound>(trx: Knex.Transaction, schema: string, merges: readonly T[]): Promise<T[]> {
  const out: T[] = [];
  for (const merge of merges) {
    const known = await survivorsOf(trx, schema, merge.entity, [merge.loser]);
    if (!known.has(merge.loser) && !out.some((m) => m.entity === merge.entity && m.loser === merge.loser)) out.push(merge);
  }
  return out;
}

/** The event that carries a reference-repoint merge: the loser's delete. */
export function deleteEventOf(merge: MergeFound, changes: readonly CanonicalChange[]): ChangeEvent | undefined {
  return changes.find((c) => c.kind === 'delete' && c.entity === merge.entity && c.key === merge.loser && c.system === merge.system && c.event.source.txId === merge.txId)?.event;
}
