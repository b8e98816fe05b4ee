/**
 * A read-only connection for the preflight, one per system, and the catalog
 * queries through it: `information_schema.columns` on all three databases
 * (plus PostgreSQL's own type names), and the primary and unique keys.
 * Opening one creates nothing on the server (no origin, no session settings
 * that outlive it).
 */
import knex, { type Knex } from 'knex';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { parseSqlServerConnectionString } from '../capture/sqlserver/connection-string';
import { columnInfo, type CatalogColumnRow, type Dialect, type TableInfo } from './catalog';

export interface CatalogDb {
  dialect: Dialect;
  /** `?` placeholders on every dialect. */
  query<T extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function openCatalogDb(dialect: Dialect, url: string, timeoutMs: number): Promise<CatalogDb> {
  if (dialect === 'postgres') return openPostgres(url, timeoutMs);
  if (dialect === 'mysql') return openMysql(url, timeoutMs);
  return openSqlServer(url, timeoutMs);
}

async function openPostgres(url: string, timeoutMs: number): Promise<CatalogDb> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs });
  client.on('error', () => undefined); // surfaced by the pending query
  await client.connect();
  return {
    dialect: 'postgres',
    query: async <T extends object>(sql: string, params: unknown[] = []) => {
      let n = 0;
      return (await client.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows as T[];
    },
    close: () => client.end(),
  };
}

async function openMysql(url: string, timeoutMs: number): Promise<CatalogDb> {
  const u = new URL(url);
  const conn = await mysql.createConnection({
    host: u.hostname, port: u.port ? Number(u.port) : 3306, user: decodeURIComponent(u.username), password: decodeURIComponent(u.password),
    database: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : undefined, connectTimeout: timeoutMs,
    supportBigNumbers: true, bigNumberStrings: true, dateStrings: true,
  });
  conn.on('error', () => undefined);
  return {
    dialect: 'mysql',
    query: async <T extends object>(sql: string, params: unknown[] = []) => (await conn.query(sql, params))[0] as T[],
    close: () => conn.end(),
  };
}

async function openSqlServer(url: string, timeoutMs: number): Promise<CatalogDb> {
  const c = parseSqlServerConnectionString(url);
  const db: Knex = knex({
    client: 'mssql',
    connection: {
      server: c.server, port: c.port, user: c.user, password: c.password, database: c.database,
      options: { encrypt: c.encrypt, trustServerCertificate: c.trustServerCertificate, appName: 'tandem-check', connectTimeout: timeoutMs, requestTimeout: timeoutMs },
    } as Knex.MsSqlConnectionConfig,
    pool: { min: 0, max: 1 },
  });
  await db.raw('SELECT 1 AS ok');
  return {
    dialect: 'sqlserver',
    query: async <T extends object>(sql: string, params: unknown[] = []) => (await db.raw(sql, params as Knex.RawBinding[])) as T[],
    close: () => db.destroy(),
  };
}

const COLUMNS: Record<Dialect, string> = {
  postgres: `
    SELECT c.column_name AS name, c.data_type, format_type(a.atttypid, a.atttypmod) AS column_type,
           c.character_maximum_length AS char_length, c.numeric_precision AS num_precision, c.numeric_scale AS num_scale,
           c.datetime_precision AS dt_precision, c.is_nullable, c.column_default,
           CASE WHEN c.is_identity = 'YES' THEN 'identity' WHEN c.is_generated = 'ALWAYS' THEN 'generated' END AS auto
      FROM information_schema.columns c
      JOIN pg_catalog.pg_namespace n ON n.nspname = c.table_schema
      JOIN pg_catalog.pg_class t ON t.relnamespace = n.oid AND t.relname = c.table_name
      JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attname = c.column_name
     WHERE c.table_schema = ? AND c.table_name = ?
     ORDER BY c.ordinal_position`,
  mysql: `
    SELECT COLUMN_NAME AS name, DATA_TYPE AS data_type, COLUMN_TYPE AS column_type, CHARACTER_MAXIMUM_LENGTH AS char_length,
           NUMERIC_PRECISION AS num_precision, NUMERIC_SCALE AS num_scale, DATETIME_PRECISION AS dt_precision,
           IS_NULLABLE AS is_nullable, COLUMN_DEFAULT AS column_default, NULLIF(EXTRA, '') AS auto
      FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
     ORDER BY ORDINAL_POSITION`,
  sqlserver: `
    SELECT c.COLUMN_NAME AS name, c.DATA_TYPE AS data_type, NULL AS column_type, c.CHARACTER_MAXIMUM_LENGTH AS char_length,
           c.NUMERIC_PRECISION AS num_precision, c.NUMERIC_SCALE AS num_scale, c.DATETIME_PRECISION AS dt_precision,
           c.IS_NULLABLE AS is_nullable, c.COLUMN_DEFAULT AS column_default,
           CASE WHEN COLUMNPROPERTY(OBJECT_ID(QUOTENAME(c.TABLE_SCHEMA) + '.' + QUOTENAME(c.TABLE_NAME)), c.COLUMN_NAME, 'IsIdentity') = 1 THEN 'identity'
                WHEN COLUMNPROPERTY(OBJECT_ID(QUOTENAME(c.TABLE_SCHEMA) + '.' + QUOTENAME(c.TABLE_NAME)), c.COLUMN_NAME, 'IsComputed') = 1 THEN 'computed' END AS auto
      FROM INFORMATION_SCHEMA.COLUMNS c
     WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ?
     ORDER BY c.ORDINAL_POSITION`,
};

/**
 * PostgreSQL's information_schema hides the constraints of tables the user
 * may only read (a capture user), so its keys come from pg_index; unique
 * indexes count as keys there too.
 */
const KEYS: Record<Dialect, string> = {
  postgres: `
    SELECT i.indexrelid::text AS name, CASE WHEN i.indisprimary THEN 'PRIMARY KEY' ELSE 'UNIQUE' END AS kind,
           a.attname AS column_name, array_position(i.indkey::int2[], a.attnum) AS pos
      FROM pg_index i
      JOIN pg_class t ON t.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (i.indkey::int2[])
     WHERE (i.indisprimary OR i.indisunique) AND i.indpred IS NULL AND n.nspname = ? AND t.relname = ?`,
  mysql: `
    SELECT tc.CONSTRAINT_NAME AS name, tc.CONSTRAINT_TYPE AS kind, k.COLUMN_NAME AS column_name, k.ORDINAL_POSITION AS pos
      FROM information_schema.TABLE_CONSTRAINTS tc
      JOIN information_schema.KEY_COLUMN_USAGE k
        ON k.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND k.TABLE_SCHEMA = tc.TABLE_SCHEMA AND k.TABLE_NAME = tc.TABLE_NAME
     WHERE tc.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE') AND tc.TABLE_SCHEMA = ? AND tc.TABLE_NAME = ?`,
  sqlserver: `
    SELECT tc.CONSTRAINT_NAME AS name, tc.CONSTRAINT_TYPE AS kind, k.COLUMN_NAME AS column_name, k.ORDINAL_POSITION AS pos
      FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS tc
      JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE k
        ON k.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND k.TABLE_SCHEMA = tc.TABLE_SCHEMA AND k.TABLE_NAME = tc.TABLE_NAME
     WHERE tc.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE') AND tc.TABLE_SCHEMA = ? AND tc.TABLE_NAME = ?`,
};

/** The table's columns and keys; null when the table does not exist (or the user cannot see it). */
export async function readTable(db: CatalogDb, schema: string, table: string): Promise<TableInfo | null> {
  const rows = await db.query<CatalogColumnRow>(COLUMNS[db.dialect], [schema, table]);
  if (rows.length === 0) return null;
  const columns = new Map(rows.map((row) => [row.name, columnInfo(db.dialect, row)]));
  const keyRows = await db.query<{ name: string; kind: string; column_name: string; pos: number | string }>(KEYS[db.dialect], [schema, table]);
  const keys = new Map<string, { kind: string; columns: Array<[number, string]> }>();
  for (const row of keyRows) {
    const key = keys.get(row.name) ?? { kind: row.kind, columns: [] };
    key.columns.push([Number(row.pos), row.column_name]);
    keys.set(row.name, key);
  }
  const ordered = (cols: Array<[number, string]>) => cols.sort((a, b) => a[0] - b[0]).map(([, c]) => c);
  const all = [...keys.values()];
  const primary = all.find((k) => k.kind === 'PRIMARY KEY');
  return {
    columns,
    primaryKey: primary ? ordered(primary.columns) : null,
    uniqueKeys: all.filter((k) => k.kind !== 'PRIMARY KEY').map((k) => ordered(k.columns)),
  };
}
