/**
 * Snapshot reads: every row of the given tables, in one transaction (SNAPSHOT
 * isolation when the database allows it, else REPEATABLE READ) whose first
 * statement reads the max LSN L. Every change at or below L is in the rows
 * read; every change above L is streamed afterwards (a change committed but
 * not yet harvested by the capture job when L was read has an LSN above L,
 * so it may come twice: once in the rows, once streamed, which is harmless).
 * Rows are read in key order, `maxBatchEvents` at a time, as 'r' events.
 */
import { correlationIdOf, type ChangeEvent, type Row, type SnapshotMarker } from '../change-event';
import type { ChangeBatch, SnapshotPlanEntry } from '../source';
import { decodeSqlServerValue } from './decode-value';
import { lsnHex, snapshotPosition } from './lsn';
import type { CaptureInstance } from './metadata';
import { MAX_LSN_SQL, quoteIdent, ROW_ESTIMATE_SQL, snapshotChunkSql, type QueryRunner, type ResultSet } from './queries';

export interface SnapshotPlan {
  system: string;
  database: string;
  tables: string[];
  instances: ReadonlyMap<string, CaptureInstance>;
  chunkRows: number;
  /**
   * null: the initial snapshot, positioned at the LSN it reads. An LSN: a
   * snapshot after a restart from that checkpoint commit LSN, positioned just
   * above it (see lsn.ts).
   */
  lateAfter: string | null;
  cancelled: () => boolean;
}

/** Row counts as sys.partitions holds them (heap or clustered index). */
export async function estimateRows(runner: QueryRunner, tables: string[], instances: ReadonlyMap<string, CaptureInstance>): Promise<SnapshotPlanEntry[]> {
  const entries: SnapshotPlanEntry[] = [];
  for (const table of tables) {
    const instance = instances.get(table);
    const name = instance ? `${quoteIdent(instance.schema)}.${quoteIdent(instance.table)}` : table;
    const result = await runner.query(ROW_ESTIMATE_SQL.name, ROW_ESTIMATE_SQL.sql, { table: { kind: 'text', value: name } });
    const n = result.rows[0]?.['n'];
    entries.push({ table, estimatedRows: n === null || n === undefined ? null : Number(n) });
  }
  return entries;
}

/** Reads L, then yields the snapshot's batches; `onLsn` learns L before the first batch. */
export async function* snapshotBatches(runner: QueryRunner, plan: SnapshotPlan, onLsn: (lsn: string) => void): AsyncGenerator<ChangeBatch> {
  const lsnResult = await runner.query(MAX_LSN_SQL.name, MAX_LSN_SQL.sql);
  const lsn = lsnHex((lsnResult.rows[0]?.['max_lsn'] ?? null) as Buffer | null);
  onLsn(lsn);
  const base = plan.lateAfter ?? lsn;
  const late = plan.lateAfter !== null;
  const startedMs = Date.now();
  let index = 0;
  for (const [t, table] of plan.tables.entries()) {
    const instance = plan.instances.get(table)!;
    const { name, sql } = snapshotChunkSql(instance.schema, instance.table, instance.columns, instance.keyColumns);
    let offset = 0;
    let held = await readChunk(runner, name, sql, offset, plan.chunkRows);
    let first = true;
    while (!plan.cancelled()) {
      offset += held.rows.length;
      const next = held.rows.length === plan.chunkRows ? await readChunk(runner, name, sql, offset, plan.chunkRows) : { columns: held.columns, rows: [] };
      const lastChunk = next.rows.length === 0;
      const events = held.rows.map((raw) => {
        const position = snapshotPosition(base, index++, late);
        return readEvent(plan, instance, rowOf(held, raw, instance), position, startedMs);
      });
      markChunk(events, first, first && t === 0, lastChunk, lastChunk && t === plan.tables.length - 1);
      const last = events[events.length - 1];
      const batch: ChangeBatch = {
        system: plan.system, events,
        // An empty table still reports its snapshot complete, at an unused index.
        position: last ? last.source.position : snapshotPosition(base, index, late),
        sourceTimeMs: startedMs,
        snapshotTable: table,
      };
      if (lastChunk) batch.completedSnapshots = [table];
      yield batch;
      if (lastChunk) break;
      first = false;
      held = next;
    }
    if (plan.cancelled()) return;
  }
}

function readChunk(runner: QueryRunner, name: string, sql: string, offset: number, limit: number): Promise<ResultSet> {
  return runner.query(name, sql, { offset: { kind: 'int', value: offset }, limit: { kind: 'int', value: limit } });
}

function rowOf(result: ResultSet, raw: Record<string, unknown>, instance: CaptureInstance): Row {
  const row: Row = {};
  for (const column of result.columns) row[column.name] = decodeSqlServerValue(raw[column.name], column.type, `${instance.qualified}.${column.name}`);
  return row;
}

function readEvent(plan: SnapshotPlan, instance: CaptureInstance, after: Row, position: string, startedMs: number): ChangeEvent {
  return {
    op: 'r', before: null, after, unavailable: [], keyColumns: [...instance.keyColumns],
    source: {
      system: plan.system, connector: 'sqlserver', database: plan.database, schema: instance.schema, table: instance.table,
      position, txId: null, commitTimeMs: startedMs, snapshot: 'true', origin: null,
    },
    tsMs: Date.now(),
    correlationId: correlationIdOf(plan.system, position),
  };
}

/** Debezium's markers: first/last of the whole snapshot win over first/last of a table. */
function markChunk(events: ChangeEvent[], firstInTable: boolean, firstOverall: boolean, lastInTable: boolean, lastOverall: boolean): void {
  const set = (event: ChangeEvent | undefined, marker: SnapshotMarker) => {
    if (event) event.source.snapshot = marker;
  };
  if (lastInTable) set(events[events.length - 1], lastOverall ? 'last' : 'last_in_data_collection');
  if (firstInTable) set(events[0], firstOverall ? 'first' : 'first_in_data_collection');
}
