/**
 * The `mssql` (tedious) implementation of `CdcConnection`. mssql ships no
 * type declarations and none are installed, so the few calls used are typed
 * here. useUTC stays on (the default): date/time values come back with their
 * wall time in the Date's UTC fields, which decode-value.ts relies on.
 */
import { createRequire } from 'node:module';
import { mssqlPoolConfig } from './connection-string';
import type { CdcConnection, QueryRunner, ResultSet, SnapshotIsolation, SqlParam } from './queries';

interface MssqlColumn {
  index: number;
  name: string;
  type?: { declaration?: string };
  precision?: number;
  scale?: number;
}

interface MssqlRequest {
  input(name: string, type: unknown, value: unknown): MssqlRequest;
  query(sql: string): Promise<{ recordset?: Record<string, unknown>[] & { columns?: Record<string, MssqlColumn> } }>;
}

interface MssqlTransaction {
  begin(isolation: number): Promise<unknown>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

interface MssqlPool {
  connect(): Promise<MssqlPool>;
  close(): Promise<void>;
  request(): MssqlRequest;
  on(event: 'error', listener: (error: unknown) => void): void;
}

export interface MssqlModule {
  ConnectionPool: new (config: string | Record<string, unknown>) => MssqlPool;
  Transaction: new (pool: MssqlPool) => MssqlTransaction;
  Request: new (parent: MssqlTransaction | MssqlPool) => MssqlRequest;
  ISOLATION_LEVEL: { SNAPSHOT: number; REPEATABLE_READ: number };
  Binary: (length: number) => unknown;
  NVarChar: (length: number) => unknown;
  Int: unknown;
}

export function loadMssql(): MssqlModule {
  return createRequire(import.meta.url)('mssql') as MssqlModule;
}

export async function openMssqlConnection(connectionString: string): Promise<CdcConnection> {
  const mssql = loadMssql();
  const pool = new mssql.ConnectionPool(mssqlPoolConfig(connectionString));
  pool.on('error', () => undefined); // surfaced by the pending request
  await pool.connect();
  return new MssqlConnection(mssql, pool);
}

class MssqlConnection implements CdcConnection {
  constructor(private readonly mssql: MssqlModule, private readonly pool: MssqlPool) {}

  query(_name: string, sql: string, params?: Record<string, SqlParam>): Promise<ResultSet> {
    return this.run(this.pool.request(), sql, params);
  }

  async transaction<T>(isolation: SnapshotIsolation, fn: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const tx = new this.mssql.Transaction(this.pool);
    const level = isolation === 'snapshot' ? this.mssql.ISOLATION_LEVEL.SNAPSHOT : this.mssql.ISOLATION_LEVEL.REPEATABLE_READ;
    await tx.begin(level);
    try {
      const result = await fn({ query: (_name, sql, params) => this.run(new this.mssql.Request(tx), sql, params) });
      await tx.commit();
      return result;
    } catch (error) {
      await tx.rollback().catch(() => undefined);
      throw error;
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async run(request: MssqlRequest, sql: string, params: Record<string, SqlParam> = {}): Promise<ResultSet> {
    for (const [name, p] of Object.entries(params)) {
      const type = p.kind === 'lsn' ? this.mssql.Binary(10) : p.kind === 'int' ? this.mssql.Int : this.mssql.NVarChar(4000);
      request.input(name, type, p.value);
    }
    return toResultSet(await request.query(sql));
  }
}

/** mssql's `recordset` (rows, plus `columns` keyed by name) → `ResultSet`. */
export function toResultSet(result: { recordset?: Record<string, unknown>[] & { columns?: Record<string, MssqlColumn> } }): ResultSet {
  const recordset = result.recordset ?? [];
  const columns = Object.values(recordset.columns ?? {})
    .sort((a, b) => a.index - b.index)
    .map((c) => ({ name: c.name, type: c.type?.declaration ?? 'unknown', precision: c.precision, scale: c.scale }));
  return { columns, rows: [...recordset] };
}
