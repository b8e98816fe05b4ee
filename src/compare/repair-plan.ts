/**
 * What `tandem compare --repair` does about one record (pure): the canonical
 * record corrected where it does not hold the owner's value, the writes
 * that bring each wrong system to the rule-correct state (queued in the
 * outbox like any correction, conditional on the value compare saw there),
 * and one conflict-log entry per repaired side, decision `repair`.
 */
import type { Operation } from 'fast-json-patch';
import type { Value } from '../capture';
import { emptyRecord, planPropagation, type ConflictEntry, type EntityRules, type PlannedWrite } from '../conflict';
import { newCanonicalKey, type CanonicalRecord, type Fields } from '../transform';
import { CANONICAL } from './classify';
import type { VersionedObservation } from './observe';
import type { Difference } from './types';

export interface RepairContext {
  runId: string;
  nowMs: number;
  rules: EntityRules;
  /** Canonical fields each system maps and tandem writes there (every system mapping the entity). */
  fieldsBySystem: ReadonlyMap<string, ReadonlySet<string>>;
  /** Table of each system's mapping, for the log. */
  tableOf: (system: string) => string;
  /** The state store's records table, for entries about the canonical record. */
  recordsTable: string;
}

export interface RepairPlan {
  record: CanonicalRecord;
  writes: PlannedWrite[];
  conflicts: ConflictEntry[];
  /** A crosswalk link to make (an adopted row that had none). */
  link: { system: string; localKey: string } | null;
}

/** The plan for one record, locked at the version compare observed; a string says why it cannot be repaired. */
export function planRepair(locked: CanonicalRecord, obs: VersionedObservation, differences: readonly Difference[], ctx: RepairContext): RepairPlan | string {
  if (locked.version !== obs.version) return 'the record changed after compare read it';
  const adopt = differences.find((d) => d.kind === 'unlinked');
  if (adopt) return planAdoption(locked, obs, adopt, ctx);
  const next = structuredClone(locked);
  const writes = new Map<string, PlannedWrite>();
  const conflicts: ConflictEntry[] = [];
  const writeTo = (system: string, op: PlannedWrite['op']) => {
    const write = writes.get(system) ?? { system, op, fields: {}, expected: {}, reason: 'correct' as const };
    writes.set(system, write);
    return write;
  };
  for (const d of differences) {
    if (d.kind === 'deleted') {
      for (const system of d.wrong) writeTo(system, 'delete');
      conflicts.push(...d.wrong.map((system) => entry(ctx, obs, system, '*', null, rowOf(obs, system), locked.fields, `compare ${ctx.runId}: ${d.right.by}`, [{ op: 'remove', path: '' }])));
    } else if (d.kind === 'missing') {
      for (const system of d.wrong) {
        const write = writeTo(system, 'upsert');
        for (const [field, value] of Object.entries(locked.fields)) if (ctx.fieldsBySystem.get(system)?.has(field)) write.fields[field] = value;
        conflicts.push(entry(ctx, obs, system, '*', { ...locked.fields }, undefined, locked.fields, `compare ${ctx.runId}: ${d.right.by}`, [{ op: 'add', path: '', value: locked.fields }]));
      }
    } else if (d.kind === 'field') {
      repairField(d, obs, locked, next, writeTo, conflicts, ctx);
    }
  }
  const changed = conflicts.some((c) => c.system === CANONICAL);
  if (changed) next.version = locked.version + 1;
  for (const write of writes.values()) {
    if (write.op === 'upsert') next.shadows[write.system] = { ...next.shadows[write.system], ...write.fields };
    else delete next.shadows[write.system];
  }
  return { record: next, writes: [...writes.values()], conflicts, link: null };
}

function repairField(
  d: Difference, obs: VersionedObservation, locked: CanonicalRecord, next: CanonicalRecord,
  writeTo: (system: string, op: PlannedWrite['op']) => PlannedWrite, conflicts: ConflictEntry[], ctx: RepairContext,
): void {
  const field = d.field!;
  const value = (d.right.value ?? null) as Value;
  const rule = `compare ${ctx.runId}: ${d.right.by}`;
  const patch: Operation[] = [{ op: 'replace', path: `/${field}`, value }];
  for (const system of d.wrong) {
    if (system === CANONICAL) {
      next.fields[field] = value;
      const fieldRule = ctx.rules.field(field, ctx.nowMs);
      const source = fieldRule.kind === 'owner' ? fieldRule.owner : CANONICAL;
      next.provenance[field] = { system: source, commitTimeMs: ctx.nowMs, position: `compare:${ctx.runId}`, correlationId: correlationId(ctx) };
      conflicts.push(entry(ctx, obs, CANONICAL, field, value, locked.fields[field], locked.fields[field], rule, patch));
      continue;
    }
    const observed = obs.rows.get(system)?.fields[field] ?? null;
    const write = writeTo(system, 'upsert');
    write.fields[field] = value;
    write.expected[field] = observed;
    conflicts.push(entry(ctx, obs, system, field, value, observed, locked.fields[field], rule, patch));
  }
}

/** A row no live record accounts for becomes a record, as capture would have made it, and goes to every other system. */
function planAdoption(locked: CanonicalRecord, obs: VersionedObservation, d: Difference, ctx: RepairContext): RepairPlan | string {
  const system = ctx.rules.owner in d.localKeys ? ctx.rules.owner : d.wrong[0]!;
  const row = obs.rows.get(system);
  if (!row) return `no ${system} row to adopt`;
  if (locked.version > 0) return 'a record with this key appeared after compare read it';
  const key = obs.unlinked ? newCanonicalKey(system, row.localKey) : obs.key;
  const fields: Fields = {};
  for (const [field, value] of Object.entries(row.fields)) {
    if (typeof value === 'string' && (value.startsWith('(unlinked ') || value.startsWith('(unconvertible: '))) continue;
    fields[field] = value;
  }
  const next = emptyRecord(obs.entity, key);
  next.fields = { ...fields };
  const correlation = correlationId(ctx);
  for (const field of Object.keys(fields)) next.provenance[field] = { system, commitTimeMs: ctx.nowMs, position: `compare:${ctx.runId}`, correlationId: correlation };
  next.shadows[system] = { ...fields };
  next.version = 1;
  const writes = [...planPropagation(next, system, fields, true, ctx.fieldsBySystem)];
  const conflict = entry(ctx, { ...obs, key }, CANONICAL, '*', fields, undefined, undefined, `compare ${ctx.runId}: ${d.right.by}: ${system}'s row adopted`, [{ op: 'add', path: '', value: fields }]);
  return { record: next, writes, conflicts: [conflict], link: obs.unlinked ? { system, localKey: row.localKey } : null };
}

function rowOf(obs: VersionedObservation, system: string): Fields | undefined {
  return obs.rows.get(system)?.fields;
}

export function correlationId(ctx: Pick<RepairContext, 'runId'>): string {
  return `compare@${ctx.runId}`;
}

function entry(
  ctx: RepairContext, obs: Pick<VersionedObservation, 'entity' | 'key'>, system: string, field: string,
  attempted: Value | undefined, before: Value | undefined, current: Value | undefined, rule: string, patch: Operation[],
): ConflictEntry {
  return {
    entity: obs.entity, key: obs.key, field, system,
    table: system === CANONICAL ? ctx.recordsTable : ctx.tableOf(system),
    position: `compare:${ctx.runId}`, txId: null, commitTimeMs: ctx.nowMs, correlationId: correlationId(ctx),
    attempted: attempted ?? null, before, current, kept: attempted ?? null, rule, outcome: 'repair', patch, corrected: system !== CANONICAL,
  };
}
