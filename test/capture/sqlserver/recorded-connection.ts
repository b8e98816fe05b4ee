/**
 * A `CdcConnection` that replays result sets from `recorded/` (SQL Server
 * cannot run here). Those result sets were written by hand from the driver's
 * type mapping, never recorded from a server (recorded/README.md). Results are looked up by the statement's name (queries.ts) and
 * handed out in order; the last one repeats once a name's list is used up
 * (so an idle poll keeps seeing the same max LSN). Every call is recorded with
 * its parameters, so the tests can check the LSN bookkeeping.
 *
 * Fixture values are JSON; what tedious returns that JSON cannot hold is
 * tagged: `{"$buffer": "<hex>"}` → Buffer, `{"$date": "<ISO>", "nanosecondsDelta": n}`
 * → a Date with tedious's non-enumerable `nanosecondsDelta` property.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CdcConnection, QueryRunner, ResultSet, SqlParam } from '../../../src/capture/sqlserver';

export interface RecordedColumn {
  index: number;
  name: string;
  type: string;
  length?: number;
  precision?: number;
  scale?: number;
}

export interface RecordedResultSet {
  columns: RecordedColumn[];
  rows: Record<string, unknown>[];
}

export interface Recording {
  description: string;
  results: Record<string, RecordedResultSet[]>;
}

export function loadRecording(name: string): Recording {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`./recorded/${name}.json`, import.meta.url)), 'utf8')) as Recording;
}

export function revive(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const tagged = value as { $buffer?: string; $date?: string; nanosecondsDelta?: number };
  if (typeof tagged.$buffer === 'string') return Buffer.from(tagged.$buffer, 'hex');
  if (typeof tagged.$date === 'string') {
    const date = new Date(tagged.$date);
    if (tagged.nanosecondsDelta !== undefined) Object.defineProperty(date, 'nanosecondsDelta', { enumerable: false, value: tagged.nanosecondsDelta });
    return date;
  }
  return value;
}

/** A recorded result set as the source sees it through `toResultSet`. */
export function resultSetOf(recorded: RecordedResultSet): ResultSet {
  return {
    columns: [...recorded.columns].sort((a, b) => a.index - b.index).map((c) => ({ name: c.name, type: c.type, precision: c.precision, scale: c.scale })),
    rows: recorded.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, revive(v)]))),
  };
}

export interface Call {
  name: string;
  sql: string;
  params: Record<string, string | number>;
  inTransaction: boolean;
}

export class RecordedConnection implements CdcConnection {
  readonly calls: Call[] = [];
  closed = 0;
  private readonly used = new Map<string, number>();

  constructor(private readonly results: Record<string, RecordedResultSet[]>) {}

  /** Adds results for a name (e.g. a later poll) after construction. */
  add(name: string, ...sets: RecordedResultSet[]): void {
    (this.results[name] ??= []).push(...sets);
  }

  query(name: string, sql: string, params?: Record<string, SqlParam>): Promise<ResultSet> {
    return this.answer(name, sql, params, false);
  }

  async transaction<T>(_isolation: 'snapshot' | 'repeatable read', fn: (runner: QueryRunner) => Promise<T>): Promise<T> {
    return fn({ query: (name, sql, params) => this.answer(name, sql, params, true) });
  }

  async close(): Promise<void> {
    this.closed++;
  }

  callsNamed(name: string): Call[] {
    return this.calls.filter((c) => c.name === name);
  }

  private async answer(name: string, sql: string, params: Record<string, SqlParam> | undefined, inTransaction: boolean): Promise<ResultSet> {
    const shown = Object.fromEntries(Object.entries(params ?? {}).map(([k, p]) => [k, p.kind === 'lsn' ? p.value.toString('hex').toUpperCase() : p.value]));
    this.calls.push({ name, sql, params: shown, inTransaction });
    const list = this.results[name];
    if (!list || list.length === 0) throw new Error(`no recorded result for ${name}`);
    const n = this.used.get(name) ?? 0;
    this.used.set(name, n + 1);
    if (name.startsWith('snapshot:') && n >= list.length) return resultSetOf({ columns: list[0]!.columns, rows: [] });
    return resultSetOf(list[Math.min(n, list.length - 1)]!);
  }
}
