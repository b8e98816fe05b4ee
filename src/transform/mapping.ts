import type { ChangeEvent, Row, Value } from '../capture';
import type { MappingSpec } from '../config/spec';
import { ConversionError, DecodeError, TandemError, type ErrorContext } from '../errors';
import { compileBindings } from './bindings';
import type { CanonicalChange, Fields } from './canonical';
import { keyRowOf, localKeyOfRow } from './local-key';
import type { FieldBinding, Mapping } from './mapping-types';

/** Error context of a mapping, with the names every change carries. */
interface Where extends ErrorContext {
  system: string;
  table: string;
  entity: string;
}

/** Debezium's stand-in for an unchanged TOAST value; capture should have dropped it, this is a second guard. */
const UNAVAILABLE = '__debezium_unavailable_value';

/** `schema.table` or `table` (schema `public`). */
export function splitTable(table: string): { schema: string; tableName: string } {
  const dot = table.indexOf('.');
  return dot < 0 ? { schema: 'public', tableName: table } : { schema: table.slice(0, dot), tableName: table.slice(dot + 1) };
}

export function compileMapping(spec: MappingSpec): Mapping {
  const { schema, tableName } = splitTable(spec.table);
  const table = `${schema}.${tableName}`;
  const where: Where = { system: spec.system, table, entity: spec.entity };
  const fields = compileBindings(spec.fields, where);
  const keyColumns = [...spec.key.columns];
  return {
    system: spec.system,
    table,
    schema,
    tableName,
    entity: spec.entity,
    keyColumns,
    ...keyGeneration(spec.key.generated),
    keyField: keyColumns.length === 1 ? (fields.find((f) => f.column === keyColumns[0] && f.ref === null)?.field ?? null) : null,
    exceptionColumns: spec.exceptionFields ?? null,
    fields,
    onTruncate: spec.onTruncate,
    toCanonical: (event) => toCanonical(event, fields, keyColumns, { ...where, ...eventContext(event) }),
    toRow: (values) => toRow(values, fields, where),
    localKeyOf: (row) => localKeyOfRow(keyColumns, row, where),
    keyRow: (localKey) => keyRowOf(keyColumns, localKey, where),
  };
}

function keyGeneration(generated: MappingSpec['key']['generated']): Pick<Mapping, 'keyGenerated' | 'keyAllocator'> {
  if (typeof generated === 'string') return { keyGenerated: generated, keyAllocator: null };
  const format = generated.format ?? null;
  return { keyGenerated: 'allocated', keyAllocator: 'sequence' in generated ? { sequence: generated.sequence, format } : { sql: generated.sql, format } };
}

function eventContext(event: ChangeEvent): ErrorContext {
  return { correlationId: event.correlationId, position: event.source.position };
}

function toCanonical(event: ChangeEvent, fields: FieldBinding[], keyColumns: string[], where: Where): CanonicalChange {
  if (event.op === 't') throw new DecodeError('a truncate is not a row change: the pipeline handles it by the mapping\'s onTruncate', where);
  const kind = event.op === 'd' ? 'delete' : 'upsert';
  const after = kind === 'upsert' ? event.after : null;
  if (kind === 'upsert' && !after) throw new DecodeError(`op ${event.op} event has no after-image`, where);
  const keyImage = after ?? event.before;
  if (!keyImage) throw new DecodeError(`delete event has no before-image, so no key (${keyColumns.join(', ')})`, where);
  const unavailable = new Set(event.unavailable);
  const afterPresent = after && present(after, unavailable);
  const beforePresent = event.before && present(event.before, new Set());
  return {
    entity: where.entity,
    system: where.system,
    localKey: localKeyOfRow(keyColumns, keyImage, where),
    key: null,
    kind,
    before: beforePresent ? readFields(beforePresent, fields, where) : null,
    after: afterPresent ? readFields(afterPresent, fields, where) : null,
    refs: readRefs(afterPresent ?? beforePresent, fields),
    event,
  };
}

/** The columns of an image the source actually sent: absent and unavailable (TOAST) columns are left out, never read as null. */
function present(row: Row, unavailable: Set<string>): Map<string, Value> {
  const columns = new Map<string, Value>();
  for (const [column, value] of Object.entries(row)) {
    if (value === undefined || value === UNAVAILABLE || unavailable.has(column)) continue;
    columns.set(column, value);
  }
  return columns;
}

function readFields(columns: Map<string, Value>, fields: FieldBinding[], where: ErrorContext): Fields {
  const out: Fields = {};
  for (const binding of fields) {
    if (binding.ref !== null || !columns.has(binding.column)) continue;
    out[binding.field] = convert(binding, 'toCanonical', columns.get(binding.column) as Value, where);
  }
  return out;
}

/** Reference columns as the referenced row's local key text; the pipeline swaps it for a canonical key. */
function readRefs(columns: Map<string, Value> | null, fields: FieldBinding[]): CanonicalChange['refs'] {
  const refs: CanonicalChange['refs'] = {};
  for (const binding of fields) {
    if (binding.ref === null || !columns?.has(binding.column)) continue;
    const value = columns.get(binding.column) ?? null;
    refs[binding.field] = { entity: binding.ref, localKey: value === null ? null : String(value) };
  }
  return refs;
}

/**
 * Canonical values → this table's columns, for the fields given and bound
 * here (read-only bindings skipped). Reference fields must already hold the
 * target's local key text of the referenced row, written as is: only
 * single-column referenced keys are supported (a composite key does not fit
 * in one column).
 */
function toRow(values: Fields, fields: FieldBinding[], where: ErrorContext): Row {
  const row: Row = {};
  for (const binding of fields) {
    if (binding.readOnly || !Object.hasOwn(values, binding.field)) continue;
    const value = values[binding.field] as Value;
    row[binding.column] = binding.ref !== null ? value : convert(binding, 'fromCanonical', value, where);
  }
  return row;
}

/** Runs one direction of a binding, adding the field, column and change context to a conversion failure. */
function convert(binding: FieldBinding, direction: 'toCanonical' | 'fromCanonical', value: Value, where: ErrorContext): Value {
  try {
    return binding[direction](value);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const wrapped = `field ${binding.field} (column ${binding.column}): ${message}`;
    if (error instanceof TandemError && !(error instanceof ConversionError)) throw error;
    throw new ConversionError(wrapped, where, { cause: error });
  }
}
