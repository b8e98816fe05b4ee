/**
 * Record merges: two records of one entity found to be the same customer,
 * one (the loser) deleted and its children re-pointed to the other (the
 * survivor). Pure: what counts as a merge, how references to a merged record
 * are followed, and the conflict-log entry that records the decision. The
 * state store and outbox side lives in src/store/merges.ts and the resolve
 * stage.
 *
 * Two ways a source says "merged":
 * - `reference-repoint`: within one source transaction, every child row that
 *   referenced A and changed its reference moved it to one and the same B,
 *   and A is deleted. Children spread over several records, or a delete with
 *   no re-pointed children, are not a merge (a split, a plain delete).
 * - a merge table the source writes (`table`, `loser`, `survivor` columns):
 *   each inserted row names a loser and a survivor by the source's own keys.
 * Duplicates nobody merged are left alone: nothing here guesses from values.
 */
import type { Value } from '../capture';
import type { CanonicalRecord, FieldProvenance, Fields } from '../transform';
import type { ConflictEntry, PlannedWrite } from './decision';

/** The `merge:` setting of an entity. */
export type MergeDetection =
  | { detect: 'reference-repoint' }
  | { table: string; loser: string; survivor: string; system?: string };

/** The conflict log's field name of a merge decision (like `(existence)` for creations). */
export const MERGE_FIELD = '(merge)';

/** One resolved change, as merge detection sees it. */
export interface MergeObservation {
  system: string;
  /** Source transaction; null (a snapshot read) never takes part in a merge. */
  txId: string | null;
  entity: string;
  key: string;
  kind: 'upsert' | 'delete';
  /** Reference fields that this change set: the canonical key referenced before it and after it. */
  refs: ReadonlyArray<{ field: string; entity: string; before: string | null; after: string | null }>;
}

/** A detected merge of `loser` into `survivor` (canonical keys of `entity`). */
export interface MergeFound {
  entity: string;
  loser: string;
  survivor: string;
  system: string;
  txId: string | null;
  via: 'reference-repoint' | 'table';
  /** Child records the source re-pointed in the same transaction. */
  children: ReadonlyArray<{ entity: string; key: string; field: string }>;
}

/**
 * Merges shown by re-pointed references, for the entities in `entities`
 * (those configured with `detect: reference-repoint`).
 */
export function detectRepointMerges(observations: readonly MergeObservation[], entities: ReadonlySet<string>): MergeFound[] {
  const found: MergeFound[] = [];
  for (const group of byTransaction(observations).values()) {
    const deleted = new Set(group.filter((o) => o.kind === 'delete' && entities.has(o.entity)).map((o) => `${o.entity}\u0000${o.key}`));
    for (const id of deleted) {
      const [entity, loser] = id.split('\u0000') as [string, string];
      const moves = group.flatMap((o) => (o.kind !== 'upsert' ? [] : o.refs
        .filter((r) => r.entity === entity && r.before === loser && r.after !== loser)
        .map((r) => ({ entity: o.entity, key: o.key, field: r.field, to: r.after }))));
      const targets = new Set(moves.map((m) => m.to));
      if (moves.length === 0 || targets.size !== 1) continue;
      const survivor = moves[0]!.to;
      if (survivor === null || deleted.has(`${entity}\u0000${survivor}`)) continue;
      const { system, txId } = group[0]!;
      found.push({ entity, loser, survivor, system, txId, via: 'reference-repoint', children: moves.map(({ entity: e, key, field }) => ({ entity: e, key, field })) });
    }
  }
  return found;
}

function byTransaction(observations: readonly MergeObservation[]): Map<string, MergeObservation[]> {
  const groups = new Map<string, MergeObservation[]>();
  for (const o of observations) {
    if (o.txId === null) continue;
    const id = `${o.system}\u0000${o.txId}`;
    const group = groups.get(id);
    if (group) group.push(o);
    else groups.set(id, [o]);
  }
  return groups;
}

/** The loser and survivor local keys of a merge-table row; a reason instead when the row does not name two records. */
export function mergeTableKeys(row: Readonly<Record<string, Value>>, spec: { loser: string; survivor: string }): { loser: string; survivor: string } | { invalid: string } {
  const loser = row[spec.loser];
  const survivor = row[spec.survivor];
  if (loser === undefined || loser === null || survivor === undefined || survivor === null) {
    return { invalid: `the merge row has no ${loser == null ? spec.loser : spec.survivor} value` };
  }
  if (typeof loser === 'object' || typeof survivor === 'object') return { invalid: `the merge row's ${spec.loser}/${spec.survivor} are not plain keys` };
  if (String(loser) === String(survivor)) return { invalid: `the merge row names ${String(loser)} as both loser and survivor` };
  return { loser: String(loser), survivor: String(survivor) };
}

/**
 * Where a reference to `key` leads once merges are followed: the last
 * survivor of a chain (A into B, later B into C: A leads to C). A cycle (which
 * no sequence of deletes can make, but a hand-edited table could) stops at the
 * first key seen twice.
 */
export function followMerges(key: string, survivorOf: ReadonlyMap<string, string>): string {
  const seen = new Set<string>([key]);
  let current = key;
  for (let next = survivorOf.get(current); next !== undefined && !seen.has(next); next = survivorOf.get(current)) {
    seen.add(next);
    current = next;
  }
  return current;
}

/** The conflict-log entry of a merge decision: attempted and kept are the survivor, current the loser. */
export function mergeEntry(
  merge: MergeFound,
  at: { table: string; position: string; commitTimeMs: number; correlationId: string },
): ConflictEntry {
  const how = merge.via === 'table' ? 'merge table' : `${merge.children.length} re-pointed reference(s)`;
  return {
    entity: merge.entity,
    key: merge.loser,
    field: MERGE_FIELD,
    system: merge.system,
    table: at.table,
    position: at.position,
    txId: merge.txId,
    commitTimeMs: at.commitTimeMs,
    correlationId: at.correlationId,
    attempted: merge.survivor,
    before: undefined,
    current: merge.loser,
    kept: merge.survivor,
    rule: `${merge.entity} merge (${merge.via === 'table' ? 'table' : 'reference-repoint'}): ${how}`,
    outcome: 'merged',
    patch: [],
    corrected: false,
  };
}

/**
 * A child record still referencing a merged-away record, pointed at the
 * survivor: the new record and the writes that carry the reference to every
 * system mapping the field (each conditional on what tandem last knew it to
 * hold, as propagation is). Systems that already hold the survivor get nothing.
 */
export function repointRecord(
  record: CanonicalRecord, field: string, survivor: string, fieldsBySystem: ReadonlyMap<string, ReadonlySet<string>>, provenance: FieldProvenance,
): { record: CanonicalRecord; writes: PlannedWrite[] } {
  const next: CanonicalRecord = {
    ...record,
    fields: { ...record.fields, [field]: survivor },
    provenance: { ...record.provenance, [field]: provenance },
    shadows: Object.fromEntries(Object.entries(record.shadows).map(([system, fields]) => [system, { ...fields }])),
    version: record.version + 1,
  };
  const writes: PlannedWrite[] = [];
  for (const [system, mapped] of fieldsBySystem) {
    if (!mapped.has(field)) continue;
    const shadow = next.shadows[system] ?? {};
    if (shadow[field] === survivor) continue;
    const expected: Fields = field in shadow ? { [field]: shadow[field]! } : {};
    writes.push({ system, op: 'upsert', fields: { [field]: survivor }, expected, reason: 'propagate' });
    next.shadows[system] = { ...shadow, [field]: survivor };
  }
  return { record: next, writes };
}
