/**
 * Row-level statements against one mapped table, inside a target transaction.
 */
import type { Knex } from 'knex';
import type { Row } from '../capture';
import type { Mapping } from '../transform';
import {
  bindableRow, needsColumnKinds, type BindRow, nullSafeEquals, rawResult, sqlServerColumnKinds, sqlServerLocking, type RawResult, type SqlType,
} from './sql-dialect';
import { fromColumnValues, targetColumns, toColumnValues } from './sql-columns';
import { toValue } from './sql-values';

export interface TableScope {
  trx: Knex.Transaction;
  type: SqlType;
  mapping: Mapping;
}

export function table(scope: TableScope): Knex.QueryBuilder {
  const { trx, mapping } = scope;
  const builder = mapping.schema ? trx.withSchema(mapping.schema) : trx;
  return builder.table(mapping.tableName);
}

/** Runs a built query raw, so the driver's column metadata comes back with the rows. */
export async function runRaw(scope: TableScope, query: Knex.QueryBuilder): Promise<RawResult> {
  const { sql, bindings } = query.toSQL();
  if (scope.type === 'sqlserver') {
    // No column metadata from knex's mssql client: kinds from the catalog.
    const rows = rawResult(scope.type, await scope.trx.raw(sqlServerLocking(sql), bindings)).rows;
    return { rows, kinds: await sqlServerColumnKinds(scope.trx, scope.mapping) };
  }
  return rawResult(scope.type, await scope.trx.raw(sql, bindings));
}

/** The row with key `where`, locked until the transaction ends; null when there is none. */
export async function lockRow(scope: TableScope, columns: string[], where: Row): Promise<RawResult | null> {
  const result = await runRaw(scope, table(scope).select(unique(columns)).where(where).forUpdate());
  if (result.rows.length === 0) return null;
  return { rows: await readableRows(scope, result.rows.slice(0, 1)), kinds: result.kinds };
}

/**
 * Rows whose columns all hold `values` (NULL matching NULL), locked: candidates
 * for the row an earlier attempt inserted before it could record its key.
 */
export async function lockMatchingRows(scope: TableScope, keyColumns: string[], values: Row, limit: number): Promise<Row[]> {
  const op = nullSafeEquals(scope.type);
  let query = table(scope).select(keyColumns);
  for (const [column, value] of Object.entries(await bindable(scope, values))) {
    if (scope.type === 'sqlserver' && value === null) query = query.whereNull(column); // no null-safe operator before 2022
    else query = query.whereRaw(`?? ${op} ?`, [column, value]);
  }
  const result = await runRaw(scope, query.orderBy(keyColumns).limit(limit).forUpdate());
  return result.rows.map(valuesOf);
}

/** Inserts `row`; returns the `returning` columns as the database filled them. */
export async function insertRow(scope: TableScope, row: Row, returning: string[], flavour: () => Promise<'mariadb' | 'mysql'>): Promise<Row> {
  const bound = await bindable(scope, row);
  if (returning.length === 0) {
    await table(scope).insert(bound);
    return {};
  }
  if (scope.type === 'postgres' || scope.type === 'sqlserver') {
    // SQL Server: knex writes RETURNING as OUTPUT inserted.<column>.
    const rows = (await table(scope).insert(bound, returning)) as Record<string, unknown>[];
    return valuesOf(rows[0] ?? {});
  }
  return (await flavour()) === 'mariadb' ? insertReturningMariaDb(scope, bound, returning) : insertAutoIncrement(scope, bound, returning);
}

/** MariaDB ≥ 10.5 has INSERT … RETURNING; knex's mysql dialect does not emit it. */
async function insertReturningMariaDb(scope: TableScope, row: BindRow, returning: string[]): Promise<Row> {
  const { sql, bindings } = table(scope).insert(row).toSQL();
  const clause = returning.map(() => '??').join(', ');
  const result = rawResult(scope.type, await scope.trx.raw(`${sql} RETURNING ${clause}`, [...bindings, ...returning]));
  return valuesOf(result.rows[0] ?? {});
}

/** MySQL proper can only tell the AUTO_INCREMENT value of a single-column key. */
async function insertAutoIncrement(scope: TableScope, row: BindRow, returning: string[]): Promise<Row> {
  const [insertId] = (await table(scope).insert(row)) as number[];
  if (returning.length !== 1 || !insertId) {
    throw new Error(`MySQL cannot report generated key columns ${returning.join(', ')} (only a single AUTO_INCREMENT column)`);
  }
  return { [returning[0] as string]: insertId };
}

export async function updateRow(scope: TableScope, where: Row, row: Row, kinds: RawResult['kinds']): Promise<void> {
  await table(scope).where(where).update(bindableRow(scope.type, await columnValues(scope, row), kinds));
}

export async function deleteRow(scope: TableScope, where: Row): Promise<number> {
  return Number(await table(scope).where(where).delete());
}

/** `row` ready to bind, looking the column kinds up only when a value may need converting. */
export async function bindable(scope: TableScope, row: Row): Promise<BindRow> {
  const converted = await columnValues(scope, row);
  return bindableRow(scope.type, converted, needsColumnKinds(scope.type, row) ? await columnKinds(scope, Object.keys(row)) : undefined);
}

/** Rows as the target returned them, with driver forms that differ from the canonical one converted (MariaDB BIT). */
export async function readableRows(scope: TableScope, rows: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
  if (scope.type !== 'mysql') return rows;
  const columns = await targetColumns(scope.trx, scope.type, scope.mapping);
  return rows.map((row) => fromColumnValues(scope.type, columns, row));
}

/** Canonical values converted for the target's column types (bytes, bits, JSON text; refused when a column cannot hold one). */
export async function columnValues(scope: TableScope, row: Row): Promise<BindRow> {
  return toColumnValues(scope.type, await targetColumns(scope.trx, scope.type, scope.mapping), row);
}

/** Column kinds of `columns` without reading a row (MySQL writes of zoned instants). */
export async function columnKinds(scope: TableScope, columns: string[]): Promise<RawResult['kinds']> {
  return (await runRaw(scope, table(scope).select(columns).whereRaw('1 = 0'))).kinds;
}

export function valuesOf(raw: Record<string, unknown>): Row {
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, toValue(v)]));
}

function unique(columns: string[]): string[] {
  return [...new Set(columns)];
}
