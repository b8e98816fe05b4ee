import type { Operation } from 'fast-json-patch';
import type { Value } from '../capture';
import { compareDecimal, type CanonicalChange, type CanonicalRecord, type FieldProvenance, type Fields } from '../transform';
import type { ConflictEntry, Decision, PlannedWrite } from './decision';
import { refuseCreation } from './existence';
import { allowsTransition, type EntityRules, type FieldRule } from './rules';
import { sameValue } from './values';

/** What the resolver needs to know besides the record and the change. */
export interface ResolveContext {
  rules: EntityRules;
  /** Canonical fields each system maps for this entity (systems that can be written). */
  fieldsBySystem: ReadonlyMap<string, ReadonlySet<string>>;
}

/**
 * Decides one change against the current canonical record, field by field.
 * Pure: the same record, change and rules always give the same decision,
 * which is what makes replays and property tests possible.
 */
export function resolve(current: CanonicalRecord | null, change: CanonicalChange, ctx: ResolveContext): Decision {
  const key = change.key;
  if (key === null) throw new Error('resolve() needs a change whose canonical key is resolved');
  const record = current ?? emptyRecord(change.entity, key);
  const { system } = change;
  const position = change.event.source.position;
  const seen = record.positions[system];
  if (seen !== undefined && position <= seen) return unchanged(record, 'redelivered');

  const next = cloneRecord(record);
  next.positions[system] = position;

  if (change.kind === 'delete') return resolveDelete(record, next, change, ctx);
  return refuseCreation(record, next, change, ctx.rules) ?? resolveUpsert(record, next, change, ctx);
}

function resolveUpsert(record: CanonicalRecord, next: CanonicalRecord, change: CanonicalChange, ctx: ResolveContext): Decision {
  const exists = record.version > 0 && !record.deleted;
  const after = exists ? changedFields(change) : (change.after ?? {});
  const accepted: Fields = {};
  const corrections: PlannedWrite = { system: change.system, op: 'upsert', fields: {}, expected: {}, reason: 'correct' };
  const conflicts: ConflictEntry[] = [];
  const patch: Operation[] = [];
  if (!exists) {
    // A new record, or one deleted earlier and now recreated: start from nothing.
    next.fields = {};
    next.provenance = {};
    next.deleted = false;
  }
  const sourceShadow = (next.shadows[change.system] = { ...next.shadows[change.system] });

  for (const [field, value] of Object.entries(after)) {
    sourceShadow[field] = value;
    const currentValue = exists ? record.fields[field] : undefined;
    if (sameValue(value, currentValue)) continue;
    // The rule in force when the change was committed: a cutover moves ownership at a commit time.
    const verdict = judge(ctx.rules.field(field, change.event.source.commitTimeMs), record, change, field, value, currentValue);
    const op: Operation = currentValue === undefined ? { op: 'add', path: `/${field}`, value } : { op: 'replace', path: `/${field}`, value };
    if (verdict.accept) {
      accepted[field] = value;
      patch.push(op);
      next.fields[field] = value;
      next.provenance[field] = provenanceOf(change);
    } else if (verdict.correct) {
      corrections.fields[field] = currentValue ?? null;
      corrections.expected[field] = value;
    }
    if (verdict.logAs) {
      const entry = conflictEntry(change, field, value, currentValue, verdict.accept ? value : currentValue, verdict.rule, verdict.logAs, [op], verdict.correct);
      if (verdict.version !== undefined) entry.ruleVersion = verdict.version;
      conflicts.push(entry);
    }
  }

  const created = !exists;
  const changed = patch.length > 0 || created;
  if (changed) next.version = record.version + 1;
  const writes = [...planPropagation(next, change.system, accepted, created, ctx.fieldsBySystem)];
  if (Object.keys(corrections.fields).length > 0) writes.push(queueWrite(next, corrections));
  return { record: next, patch, conflicts, writes, skipped: false };
}

/**
 * The fields this change actually changed in its source row. An update's
 * after-image also carries the columns it left alone; those say nothing about
 * what the writer wanted, and treating them as edits would let a stale copy
 * (a value tandem has queued a write for but not yet made) overwrite a newer
 * one. Without a before-image (REPLICA IDENTITY DEFAULT) every field counts.
 */
export function changedFields(change: CanonicalChange): Fields {
  const after = change.after ?? {};
  const before = change.before;
  if (!before) return after;
  const changed: Fields = {};
  for (const [field, value] of Object.entries(after)) {
    if (!(field in before) || !sameValue(before[field], value)) changed[field] = value;
  }
  return changed;
}

interface Verdict {
  accept: boolean;
  /** Write the kept value back to the system that lost. */
  correct: boolean;
  /** Log a conflict, and how it ended. */
  logAs: ConflictEntry['outcome'] | null;
  rule: string;
  /** The rule version that decided, for a field whose rule changes over time. */
  version?: string;
}

function judge(rule: FieldRule, record: CanonicalRecord, change: CanonicalChange, field: string, value: Value, currentValue: Value | undefined): Verdict {
  const verdict = judgeByRule(rule, record, change, field, value, currentValue);
  return rule.version === undefined ? verdict : { ...verdict, version: rule.version };
}

function judgeByRule(rule: FieldRule, record: CanonicalRecord, change: CanonicalChange, field: string, value: Value, currentValue: Value | undefined): Verdict {
  // A field nobody has set yet takes its first value from whoever sends it,
  // so a record created in a non-owning system (an order entered in CRM) is complete.
  if (currentValue === undefined) return { accept: true, correct: false, logAs: null, rule: rule.name };
  const system = change.system;
  const provenance = record.provenance[field];
  switch (rule.kind) {
    case 'owner': {
      const allowed = rule.owner === system || allowsTransition(rule.transitions.get(system), stateText(currentValue), stateText(value));
      return allowed ? accepted(rule) : { accept: false, correct: rule.correct, logAs: 'rejected', rule: rule.name };
    }
    case 'latest-wins': {
      const sawCurrent = change.before !== null && field in change.before && sameValue(change.before[field], currentValue);
      const concurrent = provenance !== undefined && provenance.system !== system && !sawCurrent;
      if (!concurrent) return accepted(rule);
      // Shared fields always converge: the loser gets the winner's value.
      const order = latestOf(change, provenance, rule.priority);
      return { ...decided(rule, order.later), rule: order.tieWithinMs === null ? rule.name : `${rule.name} (tie within ${order.tieWithinMs} ms precision → priority)` };
    }
    case 'max':
    case 'min': {
      const order = compareValues(value, currentValue);
      return decided(rule, rule.kind === 'max' ? order > 0 : order < 0);
    }
    case 'first-wins':
      return decided(rule, provenance === undefined || provenance.system === system);
    case 'manual':
      // The current value stays until a person decides (`tandem conflicts resolve`).
      return { accept: false, correct: false, logAs: 'held', rule: rule.name };
  }
}

function accepted(rule: FieldRule): Verdict {
  return { accept: true, correct: false, logAs: null, rule: rule.name };
}

/** A shared-field decision: logged either way, and the loser always gets the kept value. */
function decided(rule: FieldRule, wins: boolean): Verdict {
  return { accept: wins, correct: !wins, logAs: wins ? 'accepted' : 'rejected', rule: rule.name };
}

function stateText(value: Value | undefined): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}

/**
 * Orders two values of one field: numbers and decimal strings by value,
 * other strings (ISO dates and times included) as text. null is lowest.
 */
export function compareValues(a: Value, b: Value): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  const na = numeric(a);
  const nb = numeric(b);
  if (na !== null && nb !== null) return compareDecimal(na, nb);
  const ta = stateText(a);
  const tb = stateText(b);
  return ta < tb ? -1 : ta > tb ? 1 : 0;
}

function numeric(value: Value): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && /^[+-]?\d+(\.\d+)?$/.test(value)) return value;
  return null;
}

/**
 * Whether the change committed after the value it competes with. A commit
 * time is only known to its source's precision (the binlog's whole seconds):
 * the true time lies in [time, time + precision). When the two windows
 * overlap, neither is known to be later and `priority` decides (an exact
 * tie of millisecond times is the same rule); `tieWithinMs` then names the
 * coarser precision when it is coarser than a millisecond, for the log.
 */
function latestOf(
  change: CanonicalChange, provenance: FieldProvenance, priority: readonly string[],
): { later: boolean; tieWithinMs: number | null } {
  const { commitTimeMs: time, commitTimePrecisionMs: precision = 1 } = change.event.source;
  const { commitTimeMs: otherTime, commitTimePrecisionMs: otherPrecision = 1 } = provenance;
  if (time >= otherTime + otherPrecision) return { later: true, tieWithinMs: null };
  if (otherTime >= time + precision) return { later: false, tieWithinMs: null };
  const window = Math.max(precision, otherPrecision);
  return { later: rank(priority, change.system) < rank(priority, provenance.system), tieWithinMs: window > 1 ? window : null };
}

function rank(priority: readonly string[], system: string): number {
  const index = priority.indexOf(system);
  return index < 0 ? priority.length : index;
}

function resolveDelete(record: CanonicalRecord, next: CanonicalRecord, change: CanonicalChange, ctx: ResolveContext): Decision {
  delete next.shadows[change.system];
  if (record.version === 0 || record.deleted) return { record: next, patch: [], conflicts: [], writes: [], skipped: false };
  const patch: Operation[] = Object.keys(record.fields).map((field) => ({ op: 'remove', path: `/${field}` }));
  if (ctx.rules.owner !== change.system) {
    const rule = `${change.entity} owner=${ctx.rules.owner} (existence)`;
    const conflict = conflictEntry(change, '*', null, record.fields, record.fields, rule, 'rejected', patch, ctx.rules.correct);
    // Recreating the row from the canonical record puts the deleted row back.
    const writes = ctx.rules.correct
      ? [queueWrite(next, { system: change.system, op: 'upsert', fields: { ...record.fields }, expected: {}, reason: 'correct' })]
      : [];
    return { record: next, patch: [], conflicts: [conflict], writes, skipped: false };
  }
  next.deleted = true;
  next.version = record.version + 1;
  const writes: PlannedWrite[] = [];
  for (const system of ctx.fieldsBySystem.keys()) {
    if (system === change.system) continue;
    writes.push({ system, op: 'delete', fields: {}, expected: {}, reason: 'propagate' });
    delete next.shadows[system];
  }
  return { record: next, patch, conflicts: [], writes, skipped: false };
}

/**
 * The writes that carry accepted values to every other system mapping them,
 * each conditional on what tandem last knew that system to hold (its shadow),
 * which the write then updates. Also used by `tandem conflicts resolve`, whose
 * source (`manual`) is no system, so every mapping system gets the value.
 */
export function* planPropagation(
  next: CanonicalRecord, source: string, accepted: Fields, created: boolean, fieldsBySystem: ResolveContext['fieldsBySystem'],
): Generator<PlannedWrite> {
  for (const [system, mapped] of fieldsBySystem) {
    if (system === source) continue;
    const fields: Fields = {};
    for (const [field, value] of Object.entries(accepted)) if (mapped.has(field)) fields[field] = value;
    if (Object.keys(fields).length === 0 && !created) continue;
    const shadow = next.shadows[system] ?? {};
    const expected: Fields = {};
    for (const field of Object.keys(fields)) if (field in shadow) expected[field] = shadow[field]!;
    yield queueWrite(next, { system, op: 'upsert', fields, expected, reason: 'propagate' });
  }
}

/** Records the write in the target's shadow: the next write to it expects these values. */
function queueWrite(next: CanonicalRecord, write: PlannedWrite): PlannedWrite {
  next.shadows[write.system] = { ...next.shadows[write.system], ...write.fields };
  return write;
}

export function conflictEntry(
  change: CanonicalChange, field: string, attempted: Value, currentValue: Value | undefined, kept: Value | undefined,
  rule: string, outcome: ConflictEntry['outcome'], patch: Operation[], corrected: boolean,
): ConflictEntry {
  const { source } = change.event;
  return {
    entity: change.entity,
    key: change.key!,
    field,
    system: change.system,
    table: `${source.schema ?? ''}${source.schema ? '.' : ''}${source.table}`,
    position: source.position,
    txId: source.txId,
    commitTimeMs: source.commitTimeMs,
    correlationId: change.event.correlationId,
    attempted,
    before: change.before && field in change.before ? change.before[field] : undefined,
    current: currentValue,
    kept,
    rule,
    outcome,
    patch,
    corrected,
  };
}

function provenanceOf(change: CanonicalChange): FieldProvenance {
  const { source } = change.event;
  const provenance: FieldProvenance = { system: change.system, commitTimeMs: source.commitTimeMs, position: source.position, correlationId: change.event.correlationId };
  if (source.commitTimePrecisionMs !== undefined && source.commitTimePrecisionMs !== 1) provenance.commitTimePrecisionMs = source.commitTimePrecisionMs;
  return provenance;
}

function unchanged(record: CanonicalRecord, skipped: 'redelivered'): Decision {
  return { record, patch: [], conflicts: [], writes: [], skipped };
}

export function emptyRecord(entity: string, key: string): CanonicalRecord {
  return { entity, key, fields: {}, provenance: {}, deleted: false, positions: {}, shadows: {}, version: 0 };
}

function cloneRecord(record: CanonicalRecord): CanonicalRecord {
  return {
    ...record,
    fields: { ...record.fields },
    provenance: { ...record.provenance },
    positions: { ...record.positions },
    shadows: Object.fromEntries(Object.entries(record.shadows).map(([system, fields]) => [system, { ...fields }])),
  };
}
