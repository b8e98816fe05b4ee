/**
 * Set-wise statements against one mapped table, inside a target transaction:
 * lock many rows, update them, insert and delete them in as few statements
 * as the dialect allows.
 */
import type { Knex } from 'knex';
import type { Row, Value } from '../capture';
import { bindableRow, needsColumnKinds, rawResult, sqlServerRowsPerStatement, type RawResult } from './sql-dialect';
import { targetColumns, toColumnValues } from './sql-columns';
import { columnKinds, columnValues, readableRows, runRaw, table, updateRow, valuesOf, type TableScope } from './sql-rows';

/** One row's update: its key columns and the columns to set. */
export interface RowUpdate {
  where: Row;
  set: Row;
}

/** Locked rows by local key, and the kinds of the columns read. */
export interface LockedRows {
  byKey: Map<string, Record<string, unknown>>;
  kinds: RawResult['kinds'];
}

/** The rows with the given keys, locked in key order (so concurrent batches cannot deadlock on each other). */
export async function lockRows(scope: TableScope, columns: string[], keys: Row[]): Promise<LockedRows> {
  const { keyColumns } = scope.mapping;
  if (keys.length === 0) return { byKey: new Map(), kinds: new Map() };
  const query = whereKeys(scope, table(scope).select([...new Set([...keyColumns, ...columns])]), keyColumns, keys);
  const result = await runRaw(scope, query.orderBy(keyColumns).forUpdate());
  const rows = await readableRows(scope, result.rows);
  const byKey = new Map(rows.map((row) => [scope.mapping.localKeyOf(valuesOf(pickColumns(row, keyColumns))), row]));
  return { byKey, kinds: result.kinds };
}

/** Updates rows: PostgreSQL in one statement per set of columns, MySQL row by row. */
export async function updateRows(scope: TableScope, updates: RowUpdate[], kinds: RawResult['kinds'], types: () => Promise<Map<string, string>>): Promise<void> {
  if (updates.length === 0) return;
  if (scope.type !== 'postgres') {
    for (const u of updates) await updateRow(scope, u.where, u.set, kinds);
    return;
  }
  const columnTypes = await types();
  for (const group of groupBy(updates, (u) => Object.keys(u.set).sort().join('\u0000'))) {
    await updateFromValues(scope, group, columnTypes);
  }
}

/**
 * `UPDATE t SET c = v.c … FROM (VALUES …) AS v(…) WHERE t.k = v.k`. Values are
 * cast to the columns' base types (no length or precision: assigning to the
 * column applies those as a single-row UPDATE would, errors included).
 */
async function updateFromValues(scope: TableScope, updates: RowUpdate[], types: Map<string, string>): Promise<void> {
  const keys = scope.mapping.keyColumns;
  const columns = Object.keys(updates[0]?.set ?? {});
  const all = [...keys, ...columns];
  const cast = (column: string): string => `CAST(? AS ${castType(scope, types, column)})`;
  const tuple = `(${all.map(cast).join(', ')})`;
  const bindings: unknown[] = [...tableIdentifiers(scope), ...columns.flatMap((c, i) => [c, `c${i}`])];
  // An array bound for a json/jsonb column must travel as JSON text (see postgresBindable).
  const isJson = (c: string) => /\."?jsonb?"?$/.test(types.get(c) ?? '');
  const bind = (c: string, v: Value | Buffer | undefined) => (Array.isArray(v) && isJson(c) ? JSON.stringify(v) : (v ?? null));
  const catalog = await targetColumns(scope.trx, scope.type, scope.mapping);
  for (const u of updates) {
    const set = toColumnValues(scope.type, catalog, u.set);
    bindings.push(...keys.map((k) => u.where[k] ?? null), ...columns.map((c) => bind(c, set[c])));
  }
  bindings.push(...keys.flatMap((k, i) => [k, `k${i}`]));
  const sql =
    `UPDATE ${tableSql(scope)} AS t SET ${columns.map(() => '?? = v.??').join(', ')}` +
    ` FROM (VALUES ${updates.map(() => tuple).join(', ')}) AS v(${[...keys.map((_, i) => `k${i}`), ...columns.map((_, i) => `c${i}`)].join(', ')})` +
    ` WHERE ${keys.map(() => 't.?? = v.??').join(' AND ')}`;
  await scope.trx.raw(sql, bindings as never);
}

/** Inserts rows in one statement (missing columns take their defaults). */
export async function insertRows(scope: TableScope, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  const zoned = rows.some((row) => needsColumnKinds(scope.type, row));
  const kinds = zoned ? await columnKinds(scope, [...new Set(rows.flatMap((r) => Object.keys(r)))]) : undefined;
  const bound: Record<string, unknown>[] = [];
  for (const row of rows) bound.push(bindableRow(scope.type, await columnValues(scope, row), kinds));
  if (scope.type === 'sqlserver') {
    // At most 2100 parameters (and 1000 rows) per statement.
    const size = Math.min(1000, sqlServerRowsPerStatement(new Set(rows.flatMap((r) => Object.keys(r))).size));
    for (let i = 0; i < bound.length; i += size) await table(scope).insert(bound.slice(i, i + size));
    return;
  }
  await table(scope).insert(bound);
}

/** Deletes the rows with the given keys in one statement. */
export async function deleteRows(scope: TableScope, keys: Row[]): Promise<void> {
  if (keys.length === 0) return;
  await whereKeys(scope, table(scope), scope.mapping.keyColumns, keys).delete();
}

/**
 * Column → type name to cast bound values to, from the catalog: the base type
 * (`pg_catalog.varchar`, not `varchar(20)`, whose explicit cast would truncate).
 */
export async function pgColumnTypes(scope: TableScope): Promise<Map<string, string>> {
  const sql =
    `SELECT a.attname AS name, format('%I.%I', n.nspname, t.typname) AS type FROM pg_attribute a` +
    ` JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace n ON n.oid = t.typnamespace` +
    ` WHERE a.attrelid = CAST(? AS regclass) AND a.attnum > 0 AND NOT a.attisdropped`;
  const result = rawResult('postgres', await scope.trx.raw(sql, [qualifiedName(scope)]));
  return new Map(result.rows.map((r) => [String(r['name']), String(r['type'])]));
}

function castType(scope: TableScope, types: Map<string, string>, column: string): string {
  const type = types.get(column);
  if (type === undefined) throw new Error(`column ${column} of ${scope.mapping.table} not found in the catalog`);
  return type;
}

/** `key IN (…)`, or `(a, b) IN ((…), …)` for a composite key. */
function whereKeys(scope: TableScope, query: Knex.QueryBuilder, keyColumns: string[], keys: Row[]): Knex.QueryBuilder {
  const [only] = keyColumns;
  if (keyColumns.length === 1 && only !== undefined) return query.whereIn(only, keys.map((k) => k[only] ?? null) as never);
  if (scope.type === 'sqlserver') {
    // No row-value IN in SQL Server: (a = ? AND b = ?) OR …
    return query.where((outer) => {
      for (const k of keys) outer.orWhere((inner) => { for (const c of keyColumns) inner.where(c, k[c] ?? null); });
    });
  }
  return query.whereIn(keyColumns, keys.map((k) => keyColumns.map((c) => k[c] ?? null)) as never);
}

function pickColumns(row: Record<string, unknown>, columns: string[]): Record<string, unknown> {
  return Object.fromEntries(columns.map((c) => [c, row[c]]));
}

function tableSql(scope: TableScope): string {
  return scope.mapping.schema ? '??.??' : '??';
}

function tableIdentifiers(scope: TableScope): string[] {
  return scope.mapping.schema ? [scope.mapping.schema, scope.mapping.tableName] : [scope.mapping.tableName];
}

function qualifiedName(scope: TableScope): string {
  const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;
  return tableIdentifiers(scope).map(quote).join('.');
}

function groupBy<T>(items: T[], keyOf: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return [...groups.values()];
}
