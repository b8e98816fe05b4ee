/**
 * Every SQL statement the SQL Server source sends, in one place. Each has a
 * name: the tests replay their hand-written result sets by it (a real server
 * ignores it). The statements only read: CDC itself is set up by the DBA
 * (`sys.sp_cdc_enable_db`, `sys.sp_cdc_enable_table`).
 */
import type { ColumnMeta } from './decode-value';

/** A bound parameter: an LSN (binary(10)) or text (nvarchar). */
export type SqlParam = { kind: 'lsn'; value: Buffer } | { kind: 'text'; value: string } | { kind: 'int'; value: number };

export interface ResultSet {
  columns: ColumnMeta[];
  rows: Record<string, unknown>[];
}

export interface QueryRunner {
  query(name: string, sql: string, params?: Record<string, SqlParam>): Promise<ResultSet>;
}

export type SnapshotIsolation = 'snapshot' | 'repeatable read';

/** What the source needs of a connection (pool) to the captured database. */
export interface CdcConnection extends QueryRunner {
  /** Runs `fn` in one transaction at `isolation`; commits when it returns, rolls back when it throws. */
  transaction<T>(isolation: SnapshotIsolation, fn: (runner: QueryRunner) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A captured column: name and SQL type as `cdc.captured_columns` tells them. */
export interface CapturedColumn {
  name: string;
  type: string;
}

export function quoteIdent(name: string): string {
  return `[${name.replace(/]/g, ']]')}]`;
}

/**
 * A column in a select list. Exact numerics are converted to text on the
 * server: tedious would return them as doubles. CONVERT of decimal/numeric
 * gives every digit of the scale; money needs style 2 for its 4 decimals.
 */
export function selectColumn(column: CapturedColumn, prefix = ''): string {
  const ref = `${prefix}${quoteIdent(column.name)}`;
  switch (column.type.toLowerCase()) {
    case 'decimal':
    case 'numeric':
      return `CONVERT(varchar(50), ${ref}) AS ${quoteIdent(column.name)}`;
    case 'money':
    case 'smallmoney':
      return `CONVERT(varchar(30), ${ref}, 2) AS ${quoteIdent(column.name)}`;
    default:
      return ref;
  }
}

export const DATABASE_SQL = {
  name: 'database',
  sql:
    `SELECT DB_NAME() AS db, d.is_cdc_enabled, d.snapshot_isolation_state` +
    ` FROM sys.databases AS d WHERE d.name = DB_NAME()`,
};

/** Capture instances with their columns, in column order; `is_key` marks the columns of the instance's unique index. */
export const CAPTURE_INSTANCES_SQL = {
  name: 'capture-instances',
  sql:
    `SELECT ct.capture_instance, OBJECT_SCHEMA_NAME(ct.source_object_id) AS source_schema,` +
    ` OBJECT_NAME(ct.source_object_id) AS source_table, ct.start_lsn, ct.create_date,` +
    ` cc.column_name, cc.column_type, cc.column_ordinal,` +
    ` CAST(CASE WHEN ic.column_name IS NULL THEN 0 ELSE 1 END AS bit) AS is_key, ic.index_ordinal` +
    ` FROM cdc.change_tables AS ct` +
    ` JOIN cdc.captured_columns AS cc ON cc.object_id = ct.object_id` +
    ` LEFT JOIN cdc.index_columns AS ic ON ic.object_id = ct.object_id AND ic.column_name = cc.column_name` +
    ` ORDER BY ct.capture_instance, cc.column_ordinal`,
};

/** Columns the source table has now (to tell a column the capture instance misses from a misspelt one). */
export function tableColumnsSql(): { name: string; sql: string } {
  return {
    name: 'table-columns',
    sql: `SELECT c.name AS column_name FROM sys.columns AS c WHERE c.object_id = OBJECT_ID(@table) ORDER BY c.column_id`,
  };
}

/** The newest LSN the capture job has processed (null until it has run), its commit time, and the LSN after `@last`. */
export const POLL_BOUNDS_SQL = {
  name: 'poll-bounds',
  sql:
    `SELECT sys.fn_cdc_get_max_lsn() AS max_lsn, sys.fn_cdc_increment_lsn(@last) AS next_lsn,` +
    ` DATEDIFF_BIG(millisecond, '19700101', DATEADD(minute, DATEDIFF(minute, GETDATE(), GETUTCDATE()),` +
    ` sys.fn_cdc_map_lsn_to_time(sys.fn_cdc_get_max_lsn()))) AS max_time_ms`,
};

export const MAX_LSN_SQL = { name: 'max-lsn', sql: `SELECT sys.fn_cdc_get_max_lsn() AS max_lsn` };

/** Low water mark of each capture instance (moves up when the cleanup job runs). */
export const MIN_LSNS_SQL = {
  name: 'min-lsns',
  sql: `SELECT ct.capture_instance, sys.fn_cdc_get_min_lsn(ct.capture_instance) AS min_lsn FROM cdc.change_tables AS ct`,
};

/**
 * Every change of one capture instance in [@from_lsn, @to_lsn], updates as
 * their 3 (before) + 4 (after) pair (`all update old`), with the commit time
 * and transaction id of each transaction from cdc.lsn_time_mapping.
 * tran_end_time is server local time: shifted by the server's current UTC
 * offset (a transaction committed across a DST change is off by the change).
 */
export function changesSql(instance: string, columns: CapturedColumn[]): { name: string; sql: string } {
  const list = columns.map((c) => selectColumn(c, 'c.')).join(', ');
  return {
    name: `changes:${instance}`,
    sql:
      `SELECT c.[__$start_lsn], c.[__$seqval], c.[__$operation], c.[__$update_mask], ${list},` +
      ` m.tran_id AS [__$tran_id],` +
      ` DATEDIFF_BIG(millisecond, '19700101', DATEADD(minute, DATEDIFF(minute, GETDATE(), GETUTCDATE()), m.tran_end_time)) AS [__$commit_ms]` +
      ` FROM cdc.${quoteIdent(`fn_cdc_get_all_changes_${instance}`)}(@from_lsn, @to_lsn, N'all update old') AS c` +
      ` LEFT JOIN cdc.lsn_time_mapping AS m ON m.start_lsn = c.[__$start_lsn]` +
      ` ORDER BY c.[__$start_lsn], c.[__$seqval], c.[__$operation]`,
  };
}

/** One chunk of a table's rows in key order, inside the snapshot transaction. */
export function snapshotChunkSql(schema: string, table: string, columns: CapturedColumn[], keyColumns: string[]): { name: string; sql: string } {
  const order = (keyColumns.length > 0 ? keyColumns : columns.slice(0, 1).map((c) => c.name)).map(quoteIdent).join(', ');
  return {
    name: `snapshot:${schema}.${table}`,
    sql:
      `SELECT ${columns.map((c) => selectColumn(c)).join(', ')} FROM ${quoteIdent(schema)}.${quoteIdent(table)}` +
      ` ORDER BY ${order} OFFSET @offset ROWS FETCH NEXT @limit ROWS ONLY`,
  };
}

/** Rows of a table as its partitions count them (heap or clustered index), for snapshot progress; no scan. */
export const ROW_ESTIMATE_SQL = {
  name: 'rowEstimate',
  sql: `SELECT SUM(p.rows) AS n FROM sys.partitions p WHERE p.object_id = OBJECT_ID(@table) AND p.index_id IN (0, 1)`,
};
