/**
 * Who may bring a record into existence. Deletes already ask the entity's
 * owner (resolver.ts, resolveDelete); creations ask here:
 * - `create: [systems]`: a record first seen in a system not listed is a
 *   creation that system may not make;
 * - a record the owner deleted, changed afterwards by any other system (an
 *   edit racing the delete), would be brought back by that change: it is
 *   such a creation too, and the owner's delete stands.
 * Either is logged as an existence conflict and, per the entity's `correct`,
 * removed from that system (a delete written there) or held for review.
 */
import type { CanonicalChange, CanonicalRecord, Fields } from '../transform';
import type { ConflictEntry, Decision, PlannedWrite } from './decision';
import { conflictEntry, planPropagation, type ResolveContext } from './resolver';
import { MANUAL_SYSTEM, type HeldEntry } from './review';
import type { EntityRules } from './rules';

/** The field name existence conflicts are logged under. */
export const EXISTENCE_FIELD = '*';

/** Why a creation is refused, or null when the change may create (or the record exists). */
export function creationRefusal(record: CanonicalRecord, change: CanonicalChange, rules: EntityRules): string | null {
  if (change.kind !== 'upsert') return null;
  const exists = record.version > 0 && !record.deleted;
  if (exists) return null;
  if (record.version > 0 && record.deleted && change.system !== rules.owner) {
    return `${change.entity} owner=${rules.owner} (existence: deleted by its owner, not re-created by ${change.system})`;
  }
  if (rules.creators !== null && !rules.creators.has(change.system)) {
    return `${change.entity} create=[${[...rules.creators].join(', ')}] (existence)`;
  }
  return null;
}

/**
 * The decision for a refused creation, or null when the change may create.
 * `next` is the record with the change's position already recorded.
 */
export function refuseCreation(record: CanonicalRecord, next: CanonicalRecord, change: CanonicalChange, rules: EntityRules): Decision | null {
  const rule = creationRefusal(record, change, rules);
  if (rule === null) return null;
  const attempted = change.after ?? {};
  const writes: PlannedWrite[] = [];
  if (rules.correct) {
    // Removed from the system that made it: it holds nothing of the record any more.
    writes.push({ system: change.system, op: 'delete', fields: {}, expected: {}, reason: 'correct' });
    delete next.shadows[change.system];
  } else {
    // Held: that system keeps its row until a person decides.
    next.shadows[change.system] = { ...attempted };
  }
  const conflict = conflictEntry(
    change, EXISTENCE_FIELD, attempted, record.deleted ? null : undefined, null,
    rule, rules.correct ? 'rejected' : 'held', [{ op: 'add', path: '', value: attempted }], rules.correct,
  );
  return { record: next, patch: [], conflicts: [conflict], writes, skipped: false };
}

/**
 * A person's decision on a held existence conflict (`tandem conflicts
 * resolve <id> --keep <system>`): keeping the system that created the record
 * makes it a record (its values, propagated to every other system as a new
 * record); keeping any other system removes it from the creator.
 */
export function planExistenceReview(
  record: CanonicalRecord, held: HeldEntry, keep: string, reviewer: string,
  fieldsBySystem: ResolveContext['fieldsBySystem'], nowMs: number,
): Decision {
  const next: CanonicalRecord = structuredClone(record);
  const correlationId = `${MANUAL_SYSTEM}@review-${held.id}`;
  const attempted = isFields(held.attempted) ? held.attempted : {};
  let writes: PlannedWrite[];
  let patch: Decision['patch'] = [];
  if (keep === held.system) {
    next.fields = { ...attempted };
    next.provenance = Object.fromEntries(Object.keys(attempted).map((f) => [f, { system: held.system, commitTimeMs: nowMs, position: held.position, correlationId }]));
    next.deleted = false;
    next.version = record.version + 1;
    next.shadows[held.system] = { ...attempted };
    patch = Object.entries(attempted).map(([field, value]) => ({ op: 'add' as const, path: `/${field}`, value }));
    writes = [...planPropagation(next, held.system, attempted, true, fieldsBySystem)];
  } else {
    writes = [{ system: held.system, op: 'delete', fields: {}, expected: {}, reason: 'correct' }];
    delete next.shadows[held.system];
  }
  const entry: ConflictEntry = {
    entity: held.entity, key: held.key, field: EXISTENCE_FIELD, system: MANUAL_SYSTEM, table: held.table, position: held.position,
    txId: null, commitTimeMs: nowMs, correlationId, attempted, before: undefined, current: record.deleted ? null : undefined,
    kept: keep === held.system ? attempted : null,
    rule: `manual review of #${held.id} by ${reviewer}: ${keep === held.system ? `created as ${held.system} made it` : `removed from ${held.system}`}`,
    outcome: 'resolved', patch, corrected: keep !== held.system,
  };
  return { record: next, patch, conflicts: [entry], writes, skipped: false };
}

function isFields(value: unknown): value is Fields {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
