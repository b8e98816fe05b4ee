/**
 * The pure part of compare: what each system holds for one record, against
 * what the ownership rules say it should hold. No I/O, so every rule of
 * classification can be tested on its own (test/compare/classify.test.ts).
 */
import type { Value } from '../capture';
import { sameValue, type EntityRules } from '../conflict';
import type { Fields } from '../transform';
import type { Difference, Explanation } from './types';

/**
 * Whether two canonical values mean the same. Beyond sameValue: a MySQL
 * BOOLEAN is a TINYINT(1), so the `true` tandem wrote there reads back as 1.
 */
export function equivalent(a: Value, b: Value): boolean {
  if (sameValue(a, b)) return true;
  if (typeof a === 'boolean' && typeof b === 'number') return Number(a) === b;
  if (typeof b === 'boolean' && typeof a === 'number') return Number(b) === a;
  return false;
}

/** Name under which the state store's canonical record appears among the wrong sides. */
export const CANONICAL = 'canonical';

/** A system taking part in a compare, and the canonical fields it maps. */
export interface Side {
  system: string;
  /** field → whether tandem only reads it there (never writes it). */
  fields: ReadonlyMap<string, { readOnly: boolean }>;
}

/** A system's row in canonical form (references as canonical keys). */
export interface ObservedRow {
  localKey: string;
  fields: Fields;
}

/** Everything known about one record at compare time. */
export interface Observation {
  entity: string;
  /** The canonical key, or `<system>:<local key>` for a row no link ties to a record. */
  key: string;
  /** null: the state store has no record (or only a placeholder) under this key. */
  record: { fields: Fields; deleted: boolean } | null;
  /** One entry per side observed: its row, or null when it has none. */
  rows: ReadonlyMap<string, ObservedRow | null>;
  /** Open outbox tasks or dead letters that concern this record, per target system. */
  explained: ReadonlyMap<string, Explanation>;
}

export interface ClassifyContext {
  rules: EntityRules;
  sides: readonly Side[];
  /** The rules in force at this time decide (ms since the epoch; default: now): after a cutover, the new owner is right. */
  atMs?: number;
}

/** Every difference of one record, each found once. */
export function classify(obs: Observation, ctx: ClassifyContext): Difference[] {
  if (obs.record === null) return rowsWithout(obs, ctx, 'unlinked');
  if (obs.record.deleted) return rowsWithout(obs, ctx, 'deleted');
  const out: Difference[] = [];
  for (const side of ctx.sides) {
    if (!obs.rows.has(side.system) || obs.rows.get(side.system) !== null) continue;
    out.push(difference(obs, 'missing', null, [side.system], { value: undefined, by: 'the record is live' }));
  }
  for (const field of comparedFields(ctx.sides)) {
    const found = compareField(obs, ctx, field);
    if (found) out.push(found);
  }
  return out;
}

/** Rows that exist although their record does not (unlinked) or no longer does (deleted). */
function rowsWithout(obs: Observation, ctx: ClassifyContext, kind: 'unlinked' | 'deleted'): Difference[] {
  const out: Difference[] = [];
  for (const side of ctx.sides) {
    const row = obs.rows.get(side.system);
    if (!row) continue;
    const by = kind === 'deleted' ? 'the record was deleted' : 'no live record is linked to this row';
    out.push(difference(obs, kind, null, [side.system], { value: undefined, by }));
  }
  return out;
}

/** Fields some side maps and tandem writes there: the ones that must agree. */
export function comparedFields(sides: readonly Side[]): string[] {
  const fields = new Set<string>();
  for (const side of sides) for (const [field, { readOnly }] of side.fields) if (!readOnly) fields.add(field);
  return [...fields].sort();
}

function compareField(obs: Observation, ctx: ClassifyContext, field: string): Difference | null {
  const right = rightValue(obs, ctx, field);
  const wrong: string[] = [];
  for (const side of ctx.sides) {
    const binding = side.fields.get(field);
    const row = obs.rows.get(side.system);
    if (!binding || binding.readOnly || !row) continue;
    if (!equivalent(row.fields[field] ?? null, right.value ?? null)) wrong.push(side.system);
  }
  const canonical = obs.record!.fields[field] ?? null;
  if (!equivalent(canonical, right.value ?? null)) wrong.push(CANONICAL);
  return wrong.length === 0 ? null : difference(obs, 'field', field, wrong, right);
}

/**
 * The value the rules say every side should hold: for an owned field, what
 * the owner's row holds (the owner is right even when tandem never saw its
 * change); for a shared field, or when the owner has no row or is not
 * compared, the canonical record's value, which the resolver decided.
 */
export function rightValue(obs: Observation, ctx: ClassifyContext, field: string): { value: Value | undefined; by: string } {
  const rule = ctx.rules.field(field, ctx.atMs ?? Date.now());
  if (rule.kind === 'owner') {
    const ownerRow = obs.rows.get(rule.owner);
    const ownerSide = ctx.sides.find((s) => s.system === rule.owner);
    if (ownerRow && ownerSide?.fields.has(field)) return { value: ownerRow.fields[field] ?? null, by: rule.name };
  }
  return { value: obs.record!.fields[field] ?? null, by: `${rule.name} (canonical record)` };
}

function difference(obs: Observation, kind: Difference['kind'], field: string | null, wrong: string[], right: Difference['right']): Difference {
  const values: Record<string, Value | undefined> = {};
  const localKeys: Record<string, string> = {};
  for (const [system, row] of obs.rows) {
    if (row) localKeys[system] = row.localKey;
    if (field !== null) values[system] = row ? row.fields[field] : undefined;
  }
  if (field !== null && obs.record) values[CANONICAL] = obs.record.fields[field];
  const explained = wrong.map((s) => obs.explained.get(s)).find((e) => e !== undefined) ?? null;
  return { entity: obs.entity, kind, key: obs.key, field, wrong, values, right, localKeys, explained };
}
