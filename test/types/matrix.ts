/**
 * Runs the type matrix (columns.ts) through one capture path: a source
 * database of one kind, two targets (PostgreSQL and MariaDB) fed by one
 * pipeline, and the comparison in SQL inside each target (see `mismatches`).
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { expect } from 'vitest';
import { createMysqlDatabase, createPgDatabase, requireEnv, TEST_ENV, waitFor, type TestDatabase } from '../support';
import {
  myDefaultText, pgDefaultText, type Kind, type Literals, type Matrix, type MatrixColumn, type MatrixRow,
} from './columns';

export const TABLE = 'item';
const STAGE = 'expected_item';

// ------------------------------------------------------------------ SQL text

const quote = (kind: Kind, name: string): string => (kind === 'pg' ? `"${name}"` : `\`${name}\``);

export function tableDdl(kind: Kind, matrix: Matrix, table = TABLE): string {
  const cols = matrix.columns.map((c) => `${quote(kind, c.name)} ${kind === 'pg' ? c.pg : c.my}`);
  const body = `CREATE TABLE ${table} (id integer PRIMARY KEY, ${cols.join(', ')})`;
  return kind === 'pg' ? `${body}; ALTER TABLE ${table} REPLICA IDENTITY FULL;` : `${body} CHARACTER SET utf8mb4`;
}

/** Ids of the copy of the rows written before capture starts (read by the initial snapshot): id + this. */
export const SNAPSHOT_OFFSET = 100;

/** Every row of the matrix (and the updated rows' before-images) in one INSERT; `snapshot`: only the rows, ids shifted. */
export function insertSql(kind: Kind, matrix: Matrix, snapshot = false): string {
  const all: Array<{ id: number; values: Literals }> = snapshot
    ? matrix.rows.map((r) => ({ id: r.id + SNAPSHOT_OFFSET, values: r.values }))
    : [...matrix.rows, ...matrix.updates.map((u) => ({ id: u.id, values: u.before }))];
  const names = matrix.columns.map((c) => quote(kind, c.name));
  const tuples = all.map((r) => `(${r.id}, ${matrix.columns.map((c) => r.values[c.name] ?? 'NULL').join(', ')})`);
  return `INSERT INTO ${TABLE} (id, ${names.join(', ')}) VALUES ${tuples.join(',\n')}`;
}

/** The updates, each setting every column (absent ones to NULL): run in one transaction. */
export function updateSqls(kind: Kind, matrix: Matrix): string[] {
  return matrix.updates.map((u) =>
    `UPDATE ${TABLE} SET ${matrix.columns.map((c) => `${quote(kind, c.name)} = ${u.after[c.name] ?? 'NULL'}`).join(', ')} WHERE id = ${u.id}`);
}

function textOf(column: MatrixColumn, kind: Kind): (c: string) => string {
  return kind === 'pg' ? (column.pgText ?? pgDefaultText) : (column.myText ?? myDefaultText);
}

/** Source-side SQL giving the text that is staged in a target of kind `target`. */
function stagedText(column: MatrixColumn, source: Kind, target: Kind): (c: string) => string {
  return source === target ? textOf(column, source) : (column.cross?.src ?? textOf(column, source));
}

function comparison(column: MatrixColumn, source: Kind, target: Kind): { got: (c: string) => string; eq: (e: string, c: string) => string } {
  const got = source === target ? textOf(column, target) : (column.cross?.dst ?? textOf(column, target));
  const custom = source === target ? (target === 'pg' ? column.pgEq : column.myEq) : column.cross?.eq;
  const eq = custom ?? ((e: string, c: string) => (target === 'pg' ? `${e} IS NOT DISTINCT FROM ${got(c)}` : `${e} <=> ${got(c)}`));
  return { got, eq };
}

// ------------------------------------------------------------------- databases

export interface Db {
  kind: Kind;
  db: TestDatabase;
  /** Runs statements in order; returns the last one's rows. */
  run(...statements: Array<string | [string, unknown[]]>): Promise<Record<string, unknown>[]>;
  /** Runs the statements in one transaction. */
  transaction(statements: string[]): Promise<void>;
}

const PG_SESSION = `SET TIME ZONE 'UTC'; SET IntervalStyle = 'iso_8601'; SET DateStyle = 'ISO'; SET extra_float_digits = 1`;

export async function pgDb(prefix: string): Promise<Db> {
  const db = await createPgDatabase(prefix, requireEnv(TEST_ENV.pg));
  const withClient = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(PG_SESSION);
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  return {
    kind: 'pg', db,
    run: (...statements) => withClient(async (c) => {
      let rows: Record<string, unknown>[] = [];
      for (const s of statements) rows = (typeof s === 'string' ? await c.query(s) : await c.query(s[0], s[1])).rows;
      return rows;
    }),
    transaction: (statements) => withClient(async (c) => {
      await c.query('BEGIN');
      for (const s of statements) await c.query(s);
      await c.query('COMMIT');
    }),
  };
}

export async function myDb(prefix: string): Promise<Db> {
  const db = await createMysqlDatabase(prefix, requireEnv(TEST_ENV.mysql));
  const withConn = async <T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> => {
    const conn = await mysql.createConnection({ uri: db.url, connectTimeout: 10_000, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
    try {
      await conn.query(`SET time_zone = '+00:00'`);
      return await fn(conn);
    } finally {
      await conn.end();
    }
  };
  return {
    kind: 'my', db,
    run: (...statements) => withConn(async (c) => {
      let rows: Record<string, unknown>[] = [];
      for (const s of statements) {
        const [result] = typeof s === 'string' ? await c.query(s) : await c.query(s[0], s[1]);
        rows = Array.isArray(result) ? (result as Record<string, unknown>[]) : [];
      }
      return rows;
    }),
    transaction: (statements) => withConn(async (c) => {
      await c.beginTransaction();
      for (const s of statements) await c.query(s);
      await c.commit();
    }),
  };
}

/** Creates the matrix table (and the enum type PostgreSQL needs). */
export async function createTable(target: Db, matrix: Matrix): Promise<void> {
  if (target.kind === 'pg') await target.run(matrix.pgPrelude, tableDdl('pg', matrix));
  else await target.run(tableDdl('my', matrix));
}

/** The rows, ids shifted, written before the pipeline starts: they arrive through the initial snapshot. */
export async function writeSnapshotRows(source: Db, matrix: Matrix): Promise<void> {
  await source.run(insertSql(source.kind, matrix, true));
}

/**
 * Waits until each target holds every snapshot row it can hold (the snapshot
 * is over: what follows is streamed). Rows that do not arrive are reported by
 * the comparison afterwards, with their values.
 */
export async function snapshotArrived(source: Kind, targets: Db[], matrix: Matrix): Promise<void> {
  await Promise.all(targets.map(async (target) => {
    const expected = matrix.rows.filter((r) => source === target.kind || r.crossKind !== 'rejected').length;
    await waitFor(async () => Number((await target.run(`SELECT COUNT(*) AS n FROM ${TABLE} WHERE id >= ${SNAPSHOT_OFFSET}`))[0]?.['n']) >= expected,
      { timeoutMs: 45_000, intervalMs: 250 }).catch(() => undefined);
  }));
}

/** Writes the matrix into the source: the rows in one INSERT, then the updates in one transaction. */
export async function writeSource(source: Db, matrix: Matrix): Promise<void> {
  await source.run(insertSql(source.kind, matrix));
  await source.transaction(updateSqls(source.kind, matrix));
}

// ------------------------------------------------------------------ comparing

/** One value that differs: the target's text against the source's (both made by SQL). */
export interface Mismatch {
  id: number;
  column: string;
  expected: unknown;
  got: unknown;
}

/**
 * Copies the source's text of every value into a staging table of `target`
 * (a plain VALUES list), as a target of that kind must hold it, and returns the
 * rows and values that differ, compared in the target's SQL. Rows the target
 * must refuse (`crossKind: 'rejected'`) are expected absent.
 */
export async function stage(source: Db, target: Db, matrix: Matrix): Promise<{ expectedIds: number[]; rejectedIds: number[] }> {
  const cross = source.kind !== target.kind;
  const columns = matrix.columns;
  const select = columns.map((c) => `${stagedText(c, source.kind, target.kind)(quote(source.kind, c.name))} AS ${quote(source.kind, c.name)}`);
  const rows = await source.run(`SELECT id, ${select.join(', ')} FROM ${TABLE} ORDER BY id`);
  const rowSpec = new Map<number, MatrixRow>(matrix.rows.map((r) => [r.id, r]));
  const rejectedIds: number[] = [];
  const staged: unknown[][] = [];
  for (const row of rows) {
    const id = Number(row['id']);
    const streamed = rowSpec.get(id);
    const snapshotOf = rowSpec.get(id - SNAPSHOT_OFFSET);
    const matrixRow = streamed ?? (snapshotOf && { ...snapshotOf, ...snapshotOf.snapshot });
    const spec = cross ? matrixRow?.crossKind : undefined;
    const onPath = matrixRow?.expect?.[target.kind];
    if (spec === 'rejected' || onPath === 'rejected') {
      rejectedIds.push(id);
      continue;
    }
    const converted = { ...(spec ?? {}), ...(onPath ?? {}) };
    staged.push([id, ...columns.map((c) => (c.name in converted ? converted[c.name] : row[c.name]) ?? null)]);
  }
  const textType = target.kind === 'pg' ? 'text' : 'LONGTEXT';
  const ph = (i: number) => (target.kind === 'pg' ? `$${i}` : '?');
  await target.run(
    `CREATE TABLE ${STAGE} (id integer PRIMARY KEY, ${columns.map((c) => `${quote(target.kind, c.name)} ${textType}`).join(', ')})${target.kind === 'my' ? ' CHARACTER SET utf8mb4' : ''}`,
  );
  let n = 0;
  const tuples = staged.map((r) => `(${r.map(() => ph(++n)).join(', ')})`);
  await target.run([`INSERT INTO ${STAGE} VALUES ${tuples.join(', ')}`, staged.flat()]);
  return { expectedIds: staged.map((r) => r[0] as number), rejectedIds };
}

/** Values that differ between the staging table and the target table, and rows missing or extra. */
export async function mismatches(source: Kind, target: Db, matrix: Matrix): Promise<Mismatch[]> {
  const q = (name: string) => quote(target.kind, name);
  const parts = matrix.columns.map((c) => {
    const { got, eq } = comparison(c, source, target.kind);
    const e = `e.${q(c.name)}`;
    const t = `t.${q(c.name)}`;
    const asText = target.kind === 'pg' ? `(${got(t)})::text` : `CAST(${got(t)} AS CHAR)`;
    return `SELECT e.id AS id, '${c.name}' AS col, ${e} AS expected, ${asText} AS got FROM ${STAGE} e JOIN ${TABLE} t ON t.id = e.id WHERE NOT COALESCE(${eq(e, t)}, FALSE)`;
  });
  const missing = `SELECT e.id AS id, '(row)' AS col, 'present' AS expected, 'missing' AS got FROM ${STAGE} e WHERE NOT EXISTS (SELECT 1 FROM ${TABLE} t WHERE t.id = e.id)`;
  const extra = `SELECT t.id AS id, '(row)' AS col, 'absent' AS expected, 'present' AS got FROM ${TABLE} t WHERE NOT EXISTS (SELECT 1 FROM ${STAGE} e WHERE e.id = t.id)`;
  const rows = await target.run(`${[...parts, missing, extra].join('\nUNION ALL\n')}\nORDER BY id, col`);
  return rows.map((r) => ({ id: Number(r['id']), column: String(r['col']), expected: r['expected'], got: r['got'] }));
}

/** Waits until `target` holds exactly the staged values; then asserts there is no mismatch. */
/** Waits until both targets hold exactly the staged values; then asserts there is no mismatch in either. */
export async function expectConverged(source: Kind, targets: Db[], matrix: Matrix, diagnostics: () => Promise<string>): Promise<void> {
  const results = await Promise.all(targets.map(async (target) => {
    let last: Mismatch[] = [];
    await waitFor(async () => (last = await mismatches(source, target, matrix)).length === 0, { timeoutMs: 45_000, intervalMs: 500 })
      .catch(() => undefined);
    return last.length === 0 ? '' : `${source} → ${target.kind}:\n${formatMismatches(last)}`;
  }));
  const report = results.filter(Boolean).join('\n');
  expect(report, report ? await diagnostics() : '').toBe('');
}

export function formatMismatches(list: Mismatch[]): string {
  return list.map((m) => `id ${m.id} ${m.column}: expected ${JSON.stringify(m.expected)?.slice(0, 300)} got ${JSON.stringify(m.got)?.slice(0, 300)}`).join('\n');
}

// ------------------------------------------------------------------- pipeline

export interface MatrixConfigOptions {
  schema: string;
  redisPrefix: string;
  origin: string;
  /** The `src` system's type and how it is captured (YAML lines under `src:`). */
  sourceType: 'postgres' | 'mysql';
  sourceCapture: string;
  sourceTable: string;
  myTargetTable: string;
  columns: MatrixColumn[];
  kafka?: string;
}

/** src (captured) → pgdst (PostgreSQL) and mydst (MariaDB); src owns everything. Secrets from M_* variables. */
export function matrixConfig(o: MatrixConfigOptions): string {
  const fields = ['id', ...o.columns.map((c) => c.name)].map((f) => `      ${f}: ${f}`).join('\n');
  const mapping = (system: string, table: string) => `
  - system: ${system}
    table: ${table}
    entity: item
    key: { columns: [id] }
    fields:
${fields}`;
  return `
stateStore: { url: { env: M_STATE_URL }, schema: ${o.schema} }
redis: { url: { env: M_REDIS_URL }, keyPrefix: "${o.redisPrefix}" }
${o.kafka ?? ''}
systems:
  src:
    type: ${o.sourceType}
    url: { env: M_SRC_URL }
${o.sourceCapture}
  pgdst:
    type: postgres
    url: { env: M_PGDST_URL }
    apply: { origin: ${o.origin}, poolSize: 2 }
  mydst:
    type: mysql
    url: { env: M_MYDST_URL }
    apply: { poolSize: 2 }
entities:
  item: { owner: src }
mappings:${mapping('src', o.sourceTable)}${mapping('pgdst', `public.${TABLE}`)}${mapping('mydst', o.myTargetTable)}
pipeline: { applyPollMs: 20, applyBatch: 200, leaseMs: 5000, maxAttempts: 2 }
metrics: { port: 0 }
log: { level: warn }
`;
}

/** Keys of the task dead letters of `system`. */
export async function deadLetterKeys(state: Db, schema: string, system: string): Promise<string[]> {
  const rows = await state.run([`SELECT payload->'task'->>'key' AS key, error_code FROM ${schema}.dead_letters WHERE system = $1 ORDER BY id`, [system]]);
  return rows.map((r) => `${String(r['key'])}:${String(r['error_code'])}`);
}

export async function deadLetters(state: Db, schema: string): Promise<string> {
  const rows = await state.run(`SELECT system, error_code, error FROM ${schema}.dead_letters ORDER BY id`).catch(() => []);
  // The driver's message is at the end (after the statement, which can be long).
  return rows.map((r) => `${String(r['system'])} ${String(r['error_code'])}: ${String(r['error']).slice(0, 120)} … ${String(r['error']).slice(-300)}`).join('\n');
}
