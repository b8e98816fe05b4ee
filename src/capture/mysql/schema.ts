/**
 * What the source needs to know from the server: its binlog settings, the
 * binlog files, and the mapped tables' primary keys, column types and which
 * columns hold JSON (MariaDB's JSON is a LONGTEXT with a json_valid check,
 * which the binlog cannot tell from text).
 */
import mysql from 'mysql2/promise';
import { CaptureError } from '../../errors';
import { kindOfSchemaColumn, type ColumnType } from './values';
import { binlogFileNumber } from './position';

export const HEARTBEAT_TABLE = 'tandem_heartbeat';

export interface TableInfo {
  database: string;
  table: string;
  columns: { name: string; type: ColumnType }[];
  keyColumns: string[];
  jsonColumns: ReadonlySet<string>;
}

/** `database.table` → [database, table]. */
export function splitTable(qualified: string): [string, string] {
  const dot = qualified.indexOf('.');
  if (dot <= 0 || dot === qualified.length - 1) throw new CaptureError(`a MySQL table must be named database.table: ${qualified}`);
  return [qualified.slice(0, dot), qualified.slice(dot + 1)];
}

export const quoteIdent = (name: string): string => `\`${name.replace(/`/g, '``')}\``;
export const quoteTable = (qualified: string): string => splitTable(qualified).map(quoteIdent).join('.');

/** Connection options shared by every plain (non-binlog) connection. */
export function connectionOptions(url: string): mysql.ConnectionOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : undefined,
    charset: 'utf8mb4',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    timezone: 'Z',
    connectTimeout: 10_000,
  };
}

export function databaseOf(url: string): string | null {
  const u = new URL(url);
  return u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : null;
}

export async function connect(url: string): Promise<mysql.Connection> {
  const conn = await mysql.createConnection(connectionOptions(url));
  conn.on('error', () => undefined); // surfaced by the pending query
  await conn.query(`SET time_zone = '+00:00'`);
  return conn;
}

export interface ServerInfo {
  version: string;
  isMariaDb: boolean;
  rowImage: string;
}

export async function checkServer(conn: mysql.Connection): Promise<ServerInfo> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(
    'SELECT VERSION() AS version, @@GLOBAL.log_bin AS logBin, @@GLOBAL.binlog_format AS format, @@GLOBAL.binlog_row_image AS rowImage',
  );
  const row = rows[0]!;
  if (Number(row.logBin) !== 1) throw new CaptureError('the binary log is off on the source server (log_bin): native MySQL capture needs it', {}, { retriable: false });
  if (String(row.format).toUpperCase() !== 'ROW') {
    throw new CaptureError(`binlog_format is ${row.format} on the source server: native MySQL capture needs ROW`, {}, { retriable: false });
  }
  const version = String(row.version);
  return { version, isMariaDb: /mariadb/i.test(version), rowImage: String(row.rowImage).toUpperCase() };
}

export interface BinlogFile {
  name: string;
  number: number;
  size: number;
}

export async function binlogFiles(conn: mysql.Connection): Promise<BinlogFile[]> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>('SHOW BINARY LOGS');
  return rows.map((r) => ({ name: String(r.Log_name), number: binlogFileNumber(String(r.Log_name)), size: Number(r.File_size) }));
}

export async function masterStatus(conn: mysql.Connection): Promise<{ file: string; pos: number }> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
  const row = rows[0];
  if (!row) throw new CaptureError('SHOW MASTER STATUS returned nothing: is the binary log on?', {}, { retriable: false });
  return { file: String(row.File), pos: Number(row.Position) };
}

/** Primary keys, column types and JSON columns of the given tables. */
export async function loadTables(conn: mysql.Connection, tables: string[]): Promise<Map<string, TableInfo>> {
  const out = new Map<string, TableInfo>();
  for (const qualified of tables) {
    const [database, table] = splitTable(qualified);
    const [columns] = await conn.query<mysql.RowDataPacket[]>(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, NUMERIC_PRECISION AS numericPrecision, COLUMN_KEY AS columnKey
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [database, table],
    );
    if (columns.length === 0) throw new CaptureError(`mapped table ${qualified} does not exist (or is not readable) on the source server`, {}, { retriable: false });
    const [keys] = await conn.query<mysql.RowDataPacket[]>(
      `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
       WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
      [database, table],
    );
    const jsonColumns = await jsonColumnsOf(conn, database, table, columns);
    out.set(qualified, {
      database,
      table,
      columns: columns.map((c) => ({
        name: String(c.name),
        type: kindOfSchemaColumn(String(c.dataType), jsonColumns.has(String(c.name)), c.numericPrecision === null ? null : Number(c.numericPrecision)),
      })),
      keyColumns: keys.map((k) => String(k.name)),
      jsonColumns,
    });
  }
  return out;
}

/** MySQL: DATA_TYPE json. MariaDB: a LONGTEXT whose CHECK constraint is `json_valid(column)`. */
async function jsonColumnsOf(conn: mysql.Connection, database: string, table: string, columns: mysql.RowDataPacket[]): Promise<Set<string>> {
  const json = new Set(columns.filter((c) => String(c.dataType).toLowerCase() === 'json').map((c) => String(c.name)));
  try {
    const [checks] = await conn.query<mysql.RowDataPacket[]>(
      `SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?`,
      [database, table],
    );
    for (const check of checks) {
      const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(check.clause).trim());
      if (m) json.add(m[1]!.replace(/``/g, '`'));
    }
  } catch {
    // MySQL before 8.0.16 has no CHECK_CONSTRAINTS; its JSON columns are DATA_TYPE json.
  }
  return json;
}
