import type { Operation } from 'fast-json-patch';
import type { Value } from '../capture';
import type { CanonicalRecord } from '../transform';
import type { ConflictEntry, Decision } from './decision';
import { planPropagation, type ResolveContext } from './resolver';

/** Provenance system of a value set by `tandem conflicts resolve`. */
export const MANUAL_SYSTEM = 'manual';

/** The held conflict-log entry a review decides. */
export interface HeldEntry {
  id: string;
  entity: string;
  key: string;
  field: string;
  /** The system whose change was held. */
  system: string;
  table: string;
  position: string;
  attempted: Value | null;
}

export interface ReviewChoice {
  /** 'kept': a system's value (current or attempted); 'value': one the reviewer gave. */
  decision: 'kept' | 'value';
  system: string | null;
  value: Value;
}

/**
 * What `--keep <system>` means for a held entry: the attempted value when it
 * names the system that attempted it, the current canonical value when it
 * names the system that value came from. Returns an explanation otherwise.
 */
export function keepChoice(held: HeldEntry, record: CanonicalRecord, system: string): ReviewChoice | string {
  if (system === held.system) return { decision: 'kept', system, value: held.attempted };
  const current = record.provenance[held.field]?.system;
  if (system === current) return { decision: 'kept', system, value: record.fields[held.field] ?? null };
  return `--keep ${system}: #${held.id} was attempted by ${held.system} and the current value of ${held.field} came from ${current ?? 'nobody'}`;
}

/**
 * The decision a review makes: the field set on the record (provenance
 * `manual`), the writes that carry it to every system mapping the field
 * (planned exactly as the resolver plans an accepted change, so they are
 * conditional on each system's shadow), and the `resolved` conflict-log entry.
 */
export function planReview(
  record: CanonicalRecord, held: HeldEntry, choice: ReviewChoice, reviewer: string,
  fieldsBySystem: ResolveContext['fieldsBySystem'], nowMs: number,
): Decision {
  const { field } = held;
  const correlationId = `${MANUAL_SYSTEM}@review-${held.id}`;
  const next: CanonicalRecord = structuredClone(record);
  const current = record.fields[field];
  const op: Operation = current === undefined ? { op: 'add', path: `/${field}`, value: choice.value } : { op: 'replace', path: `/${field}`, value: choice.value };
  next.fields[field] = choice.value;
  next.provenance[field] = { system: MANUAL_SYSTEM, commitTimeMs: nowMs, position: `review-${held.id}`, correlationId };
  next.version = record.version + 1;
  const writes = [...planPropagation(next, MANUAL_SYSTEM, { [field]: choice.value }, false, fieldsBySystem)];
  const entry: ConflictEntry = {
    entity: held.entity, key: held.key, field, system: MANUAL_SYSTEM, table: held.table, position: held.position,
    txId: null, commitTimeMs: nowMs, correlationId, attempted: choice.value, before: undefined, current, kept: choice.value,
    rule: `manual review of #${held.id} by ${reviewer}`, outcome: 'resolved', patch: [op],
    corrected: writes.some((w) => w.system === held.system),
  };
  return { record: next, patch: [op], conflicts: [entry], writes, skipped: false };
}
