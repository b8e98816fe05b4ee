/**
 * Deciding what an upsert writes to an existing row, from the row as the
 * target holds it now (locked). Values are compared in canonical form: the
 * column value goes through the binding's `toCanonical`, then compared by
 * meaning for its column kind (see `sameValue`).
 */
import type { Value } from '../capture';
import type { FieldBinding, Fields, Mapping } from '../transform';
import type { ResolvedFields } from './refs';
import { sameValue, toValue, type ColumnKind } from './sql-values';

export interface CurrentRow {
  values: Record<string, unknown>;
  kinds: Map<string, ColumnKind>;
}

export interface PlanInput {
  bindings: FieldBinding[];
  /** New values, references already local keys. */
  wanted: Fields;
  expected: ResolvedFields;
  current: CurrentRow;
  conditional: boolean;
  refMappings: (entity: string) => Mapping | undefined;
}

export interface UpdatePlan {
  /** Fields to write (canonical, references as local keys). */
  write: Fields;
  /** Fields the target changed under us (conditional mode): left alone. */
  superseded: string[];
}

/** The column value cannot be read back into canonical form: it equals nothing. */
const UNREADABLE = Symbol('unreadable');
type Current = Value | typeof UNREADABLE;

/** Nothing to write and nothing superseded: the target already holds every value. */
export function isAlreadyApplied(plan: UpdatePlan): boolean {
  return Object.keys(plan.write).length === 0 && plan.superseded.length === 0;
}

export function planUpdate(input: PlanInput): UpdatePlan {
  const write: Fields = {};
  const superseded: string[] = [];
  for (const binding of input.bindings) {
    const wanted = input.wanted[binding.field];
    if (wanted === undefined) continue;
    const kind = input.current.kinds.get(binding.column) ?? 'other';
    const current = readCurrent(binding, input.current.values[binding.column], input.refMappings);
    if (holds(current, wanted, kind)) continue;
    if (!input.conditional || expectedMatches(binding.field, current, kind, input.expected)) write[binding.field] = wanted;
    else superseded.push(binding.field);
  }
  return { write, superseded };
}

/** Fields absent from `expected` count as matching: tandem made no assumption about them. */
function expectedMatches(field: string, current: Current, kind: ColumnKind, expected: ResolvedFields): boolean {
  if (!(field in expected.fields)) return true;
  if (expected.unresolved.has(field)) return false;
  return holds(current, expected.fields[field] ?? null, kind);
}

function holds(current: Current, value: Value, kind: ColumnKind): boolean {
  return current !== UNREADABLE && sameValue(current, value, kind);
}

function readCurrent(binding: FieldBinding, raw: unknown, refMappings: PlanInput['refMappings']): Current {
  let value: Value;
  try {
    value = binding.toCanonical(toValue(raw));
  } catch {
    return UNREADABLE;
  }
  return binding.ref ? refKeyText(value, refMappings(binding.ref)) : value;
}

/**
 * A reference column's value as the referenced row's local key text, the
 * form the crosswalk gives for the new value, so `42` and `'42'` compare.
 */
function refKeyText(value: Value, refMapping: Mapping | undefined): Value {
  if (value === null) return null;
  const keyColumn = refMapping?.keyColumns.length === 1 ? refMapping.keyColumns[0] : undefined;
  if (refMapping && keyColumn !== undefined) return refMapping.localKeyOf({ [keyColumn]: value });
  return typeof value === 'string' ? value : JSON.stringify(value);
}
