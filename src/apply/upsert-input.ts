/**
 * What an upsert wants written, and the record helpers both the per-task
 * (`SqlTarget.apply`) and the bulk (`applyBulk`) paths build it with.
 */
import type { Row } from '../capture';
import { ApplyError } from '../errors';
import type { FieldBinding, Fields, Mapping } from '../transform';
import type { ApplyContext } from './target';
import type { ApplyTask } from './task';
import { resolveRefs, type RefScope, type ResolvedFields } from './refs';

/** The context `SqlTarget.apply` gets: the generic target context (SQL needs nothing more). */
export type SqlApplyContext = ApplyContext;

/** What an upsert wants written, prepared before the target transaction opens. */
export interface UpsertPlanInput {
  task: ApplyTask;
  ctx: SqlApplyContext;
  bindings: FieldBinding[];
  wanted: Fields;
  expected: ResolvedFields;
}

export function refScope(system: string, task: ApplyTask, ctx: SqlApplyContext): RefScope {
  return {
    mapping: ctx.mapping, crosswalk: ctx.crosswalk,
    context: { system, table: ctx.mapping.table, entity: task.entity, key: task.key, correlationId: task.correlationId },
  };
}

/** Resolves the task's changed fields (required) and expected values (lenient, conditional mode only). */
export async function upsertInput(system: string, conditional: boolean, task: ApplyTask, ctx: SqlApplyContext): Promise<UpsertPlanInput> {
  const refs = refScope(system, task, ctx);
  const bindings = writableBindings(ctx.mapping, task.fields);
  const wanted = await resolveRefs(refs, pick(task.fields, bindings), 'require');
  const expected = conditional ? await resolveRefs(refs, task.expected, 'lenient') : { fields: {}, unresolved: new Set<string>() };
  return { task, ctx, bindings, wanted: wanted.fields, expected };
}

/** The whole record as a row (the changes on top), references resolved: for inserts. */
export async function recordRow(system: string, task: ApplyTask, ctx: SqlApplyContext): Promise<Row> {
  const record = { ...task.record, ...task.fields };
  const resolved = await resolveRefs(refScope(system, task, ctx), pick(record, writableBindings(ctx.mapping, record)), 'require');
  return ctx.mapping.toRow(resolved.fields);
}

/** Bindings tandem may write for the fields present (read-only columns never are). */
export function writableBindings(mapping: Mapping, fields: Fields): FieldBinding[] {
  return mapping.fields.filter((b) => !b.readOnly && b.field in fields);
}

export function pick(fields: Fields, bindings: FieldBinding[]): Fields {
  return Object.fromEntries(bindings.map((b) => [b.field, fields[b.field] ?? null]));
}

export function omit(row: Row, columns: string[]): Row {
  return Object.fromEntries(Object.entries(row).filter(([column]) => !columns.includes(column)));
}

/** Natural keys ('none'): the key columns come from the record's own fields. */
export function keyOfRecord(mapping: Mapping, row: Row, task: ApplyTask): Row {
  const keyRow: Row = {};
  for (const column of mapping.keyColumns) {
    const value = row[column];
    if (value === undefined || value === null) {
      throw rejected(task, mapping, `the record has no value for key column ${column} (key generation 'none')`);
    }
    keyRow[column] = value;
  }
  return keyRow;
}

export function singleKeyColumn(mapping: Mapping, task: ApplyTask): string {
  const [column, ...rest] = mapping.keyColumns;
  if (column === undefined || rest.length > 0) {
    throw rejected(task, mapping, `key generation 'uuid' needs exactly one key column, not ${mapping.keyColumns.length}`);
  }
  return column;
}

function rejected(task: ApplyTask, mapping: Mapping, reason: string): ApplyError {
  return new ApplyError(`${mapping.system}: cannot insert ${task.entity} ${task.key} into ${mapping.table}: ${reason}`, {
    retriable: false, system: mapping.system, table: mapping.table, entity: task.entity, key: task.key, correlationId: task.correlationId,
  });
}
