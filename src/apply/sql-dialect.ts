/**
 * What differs between PostgreSQL, MySQL/MariaDB and SQL Server targets: the knex pool
 * (session setup, type parsing), the shape of raw results and their column
 * types, null-safe equality, and how values must be bound.
 */
import knex, { type Knex } from 'knex';
import pg from 'pg';
import type { Row, Value } from '../capture';
import { parseSqlServerConnectionString } from '../capture/sqlserver/connection-string';
import type { Mapping } from '../transform';
import { originSlotName } from './origin';
import { toMysqlDateTime, toSqlServerDateTime, type ColumnKind } from './sql-values';

export type SqlType = 'postgres' | 'mysql' | 'sqlserver';

export interface PoolOptions {
  type: SqlType;
  connectionString: string;
  origin: string;
  /** MySQL/MariaDB: `SET SESSION server_id` to this on every connection, so capture can tell tandem's writes. */
  echoServerId?: number;
  poolSize: number;
  /** Where the pool's own warnings go (a lost connection); by default knex prints them. */
  log?: PoolLog;
}

export interface PoolLog {
  warn(message: string, meta?: Record<string, unknown>): unknown;
}

/** knex's `log` option routed to `options.log`, naming the system's type; nothing when no log is given. */
function poolLog(options: PoolOptions): Pick<Knex.Config, 'log'> {
  const log = options.log;
  if (!log) return {};
  const warn = (message: unknown) => log.warn('target connection warning', { dialect: options.type, message: String(message) });
  return { log: { warn, error: warn, deprecate: () => {}, debug: () => {} } };
}

/** Rows of a raw query with the kind of each column, from the driver's metadata. */
export interface RawResult {
  rows: Record<string, unknown>[];
  kinds: Map<string, ColumnKind>;
}

export function createPool(options: PoolOptions): Knex {
  if (options.type === 'sqlserver') return sqlServerPool(options);
  return options.type === 'postgres' ? pgPool(options) : mysqlPool(options);
}

// ---------------------------------------------------------------- PostgreSQL

/** date, time, timestamp, timestamptz, timetz and their arrays: kept as text, never a local-time JS Date. */
const PG_TEXT_OIDS = new Set([1082, 1083, 1114, 1184, 1266, 1182, 1183, 1115, 1185, 1270]);
const PG_DECIMAL_OIDS = new Set([20, 21, 23, 26, 700, 701, 1700, 1016, 1005, 1007, 1021, 1022, 1231]);
const PG_INSTANT_OIDS = new Set([1114, 1184, 1115, 1185]);

function pgTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (PG_TEXT_OIDS.has(oid)) return (value) => value;
  return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
}

function pgPool(options: PoolOptions): Knex {
  return knex({
    ...poolLog(options),
    client: 'pg',
    connection: { connectionString: options.connectionString, types: { getTypeParser: pgTypeParser } as never },
    pool: {
      min: 0,
      max: options.poolSize,
      afterCreate: (conn: pg.Client, done: (error: Error | null, conn: pg.Client) => void) => {
        setUpPgSession(conn, options.origin).then(() => done(null, conn), (error: Error) => done(error, conn));
      },
    },
  });
}

/**
 * Once per pooled connection: UTC session (timestamptz text comes back in
 * one zone), hex bytea, and a replication origin. With the origin set up,
 * every transaction of this session is marked with it in the WAL, pgoutput
 * sends an Origin message before its changes, and capture knows the change
 * for tandem's own echo (see `isTandemOrigin`).
 */
async function setUpPgSession(conn: pg.Client, origin: string): Promise<void> {
  await conn.query(`SET TIME ZONE 'UTC'; SET bytea_output = 'hex'; SET DateStyle = 'ISO'`);
  // An origin is held by one session at a time, so each connection claims the first free slot name.
  for (let n = 0; n < MAX_ORIGIN_SLOTS; n++) {
    const name = originSlotName(origin, n);
    await ensureOrigin(conn, name);
    try {
      await conn.query('SELECT pg_replication_origin_session_setup($1)', [name]);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '55006') throw error; // object_in_use: try the next slot
    }
  }
  throw new Error(`no free replication origin among ${MAX_ORIGIN_SLOTS} slots of "${origin}"`);
}

/** More than any sane pool size times instance count; each active origin uses a replication slot's worth of memory. */
const MAX_ORIGIN_SLOTS = 64;

async function ensureOrigin(conn: pg.Client, name: string): Promise<void> {
  try {
    await conn.query(
      'SELECT pg_replication_origin_create($1) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1)',
      [name],
    );
  } catch (error) {
    // Another connection created it between our check and our insert.
    if ((error as { code?: string }).code !== '23505') throw error;
  }
}

// ------------------------------------------------------------- MySQL/MariaDB

/*
 * MySQL and MariaDB have no replication origin a session can tag its binlog
 * events with (`sql_log_bin = 0` would hide tandem's writes from every other
 * replica too). Untagged echoes are resolved like any change: they carry the
 * canonical values, so they change nothing (though a conflict can be logged if
 * the record moved on meanwhile). On MariaDB a session
 * may set its own server_id, which every binlog event it writes carries (what
 * MariaDB's replication avoids loops with): with `echoServerId` each pooled
 * connection does so, and the native binlog source marks the events with that
 * server id as tandem's (see BinlogDecoder).
 */
function mysqlPool(options: PoolOptions): Knex {
  return knex({
    ...poolLog(options),
    client: 'mysql2',
    connection: {
      uri: options.connectionString,
      // Exact numbers and dates as text, as the canonical form carries them.
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      multipleStatements: false,
    } as Knex.MySql2ConnectionConfig,
    pool: {
      min: 0,
      max: options.poolSize,
      afterCreate: (conn: MysqlCallbackConnection, done: (error: Error | null, conn: MysqlCallbackConnection) => void) => {
        // TIMESTAMP columns convert through the session zone: UTC keeps instants instants.
        conn.query(`SET time_zone = '+00:00'`, (error) => {
          if (error || options.echoServerId === undefined) return done(error, conn);
          conn.query(`SET SESSION server_id = ${Math.trunc(options.echoServerId)}`, (error2) => done(error2, conn));
        });
      },
    },
  });
}

interface MysqlCallbackConnection {
  query(sql: string, callback: (error: Error | null) => void): void;
}

// MySQL column type codes (mysql2 `columnType`).
const MYSQL_DECIMAL_TYPES = new Set([0, 1, 2, 3, 4, 5, 8, 9, 13, 16, 246]);
const MYSQL_INSTANT_TYPES = new Set([7, 12, 17, 18]);

// ---------------------------------------------------------------- SQL Server

/*
 * knex's `mssql` client drives tedious itself. Like MySQL, SQL Server has no
 * origin a session can tag its changes with: echoes of tandem's writes are
 * resolved like any change (they carry the canonical values, so they change nothing).
 * useUTC: datetime2 values read back with their wall time in UTC fields, and
 * Date bindings (never made here) would be sent as UTC.
 */
function sqlServerPool(options: PoolOptions): Knex {
  const c = parseSqlServerConnectionString(options.connectionString);
  return knex({
    ...poolLog(options),
    client: 'mssql',
    connection: {
      server: c.server, port: c.port, user: c.user, password: c.password, database: c.database,
      options: { encrypt: c.encrypt, trustServerCertificate: c.trustServerCertificate, useUTC: true, appName: 'tandem' },
    } as Knex.MsSqlConnectionConfig,
    pool: { min: 0, max: options.poolSize },
  });
}

const SQLSERVER_DECIMAL_TYPES = new Set(['tinyint', 'smallint', 'int', 'bigint', 'decimal', 'numeric', 'money', 'smallmoney', 'real', 'float', 'bit']);
const SQLSERVER_INSTANT_TYPES = new Set(['datetime2', 'datetimeoffset', 'datetime', 'smalldatetime']);

/**
 * knex's mssql client returns rows without column metadata, so column kinds
 * come from the catalog, once per mapped table (a mapping belongs to one target).
 */
const sqlServerKindsMemo = new WeakMap<Mapping, Promise<Map<string, ColumnKind>>>();

export function sqlServerColumnKinds(trx: Knex.Transaction | Knex, mapping: Mapping): Promise<Map<string, ColumnKind>> {
  let memo = sqlServerKindsMemo.get(mapping);
  if (!memo) {
    const name = `${quoteSqlServer(mapping.schema)}.${quoteSqlServer(mapping.tableName)}`;
    memo = Promise.resolve(trx.raw(
      'SELECT c.name AS name, t.name AS type FROM sys.columns AS c JOIN sys.types AS t ON t.user_type_id = c.user_type_id WHERE c.object_id = OBJECT_ID(?)',
      [name],
    )).then((rows: Array<{ name: string; type: string }>) => new Map(rows.map((r) => [r.name, sqlServerKind(r.type)])));
    memo.catch(() => sqlServerKindsMemo.delete(mapping));
    sqlServerKindsMemo.set(mapping, memo);
  }
  return memo;
}

function sqlServerKind(type: string): ColumnKind {
  const t = type.toLowerCase();
  return SQLSERVER_DECIMAL_TYPES.has(t) ? 'decimal' : SQLSERVER_INSTANT_TYPES.has(t) ? 'instant' : 'other';
}

export function quoteSqlServer(name: string): string {
  return `[${name.replace(/]/g, ']]')}]`;
}

/** knex's mssql `forUpdate()` is `with (UPDLOCK)`: row locks, so concurrent batches on other rows do not block. */
export function sqlServerLocking(sql: string): string {
  return sql.replace(/with \(UPDLOCK\)/g, 'with (UPDLOCK, ROWLOCK)');
}

/** SQL Server takes at most 2100 parameters per statement: rows per multi-row INSERT. */
export function sqlServerRowsPerStatement(columns: number): number {
  return Math.max(1, Math.floor(2000 / Math.max(1, columns)));
}

// ------------------------------------------------------------------- results

export function rawResult(type: SqlType, raw: unknown): RawResult {
  if (type === 'postgres') {
    const res = raw as { rows: Record<string, unknown>[]; fields: { name: string; dataTypeID: number }[] };
    return { rows: res.rows, kinds: kindsOf(res.fields.map((f) => [f.name, pgKind(f.dataTypeID)])) };
  }
  if (type === 'sqlserver') return { rows: raw as Record<string, unknown>[], kinds: new Map() };
  const [rows, fields] = raw as [Record<string, unknown>[], { name: string; columnType?: number; type?: number }[]];
  return { rows, kinds: kindsOf(fields.map((f) => [f.name, mysqlKind(f.columnType ?? f.type ?? -1)])) };
}

function kindsOf(entries: [string, ColumnKind][]): Map<string, ColumnKind> {
  return new Map(entries);
}

const PG_JSON_OIDS = new Set([114, 3802]);

function pgKind(oid: number): ColumnKind {
  if (PG_JSON_OIDS.has(oid)) return 'json';
  return PG_DECIMAL_OIDS.has(oid) ? 'decimal' : PG_INSTANT_OIDS.has(oid) ? 'instant' : 'other';
}

function mysqlKind(type: number): ColumnKind {
  return MYSQL_DECIMAL_TYPES.has(type) ? 'decimal' : MYSQL_INSTANT_TYPES.has(type) ? 'instant' : 'other';
}

/** SQL operator for "equal, and NULL equals NULL". */
export function nullSafeEquals(type: SqlType): string {
  // SQL Server before 2022 has neither: sql-rows.ts compares NULL with IS NULL there.
  return type === 'postgres' ? 'IS NOT DISTINCT FROM' : type === 'sqlserver' ? '=' : '<=>';
}

/** A row ready to bind: canonical values, bytes as Buffers. */
export type BindRow = Record<string, Value | Buffer>;

/**
 * Values ready to bind. mysql2 would expand an object into `k = v` pairs, so
 * JSON values are sent as JSON text; zoned instants become UTC DATETIME text
 * for instant columns (kinds, when known). pg serialises objects itself.
 */
export function bindableRow(type: SqlType, row: BindRow, kinds?: Map<string, ColumnKind>): BindRow {
  if (type === 'postgres') return postgresBindable(row, kinds);
  const out: BindRow = {};
  const bind = type === 'sqlserver' ? sqlServerBindable : mysqlBindable;
  for (const [column, value] of Object.entries(row)) out[column] = bind(value, kinds?.get(column));
  return out;
}

/**
 * SQL Server: JSON as text; zoned instants as UTC ISO text without a zone for
 * instant columns (a string with an offset cast to datetime2 would keep the
 * wall time and drop the offset; to datetimeoffset, text without a zone is
 * UTC). Decimals stay strings: bound as nvarchar, converted exactly.
 */
function sqlServerBindable(value: Value | Buffer, kind: ColumnKind | undefined): Value | Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return kind === 'instant' ? toSqlServerDateTime(value) : value;
}

function mysqlBindable(value: Value | Buffer, kind: ColumnKind | undefined): Value | Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return kind === 'instant' ? toMysqlDateTime(value) : value;
}

/**
 * pg sends a JavaScript array as an SQL array literal, right for int[] and
 * text[] columns but wrong for json/jsonb, where it must be JSON text (else
 * `[1, 2]` arrives as the array literal `{1,2}`, or fails).
 */
function postgresBindable(row: BindRow, kinds: Map<string, ColumnKind> | undefined): BindRow {
  if (!kinds) return row;
  const out: BindRow = {};
  for (const [column, value] of Object.entries(row)) out[column] = Array.isArray(value) && kinds.get(column) === 'json' ? JSON.stringify(value) : value;
  return out;
}

/** Whether binding `row` needs the columns' kinds (zoned instants for MySQL/SQL Server, arrays for PostgreSQL json). */
export function needsColumnKinds(type: SqlType, row: Row): boolean {
  if (type === 'postgres') return Object.values(row).some(Array.isArray);
  return hasZonedInstants(type, row);
}

/** Whether a MySQL row holds zoned instant text that may need converting (then column kinds are looked up). */
export function hasZonedInstants(type: SqlType, row: Row): boolean {
  if (type === 'sqlserver') return Object.values(row).some((v) => typeof v === 'string' && toSqlServerDateTime(v) !== v);
  return type === 'mysql' && Object.values(row).some((v) => typeof v === 'string' && toMysqlDateTime(v) !== v);
}
