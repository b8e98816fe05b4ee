/**
 * Snapshot reads: every row of the given tables, read through a cursor in a
 * REPEATABLE READ transaction (so huge tables stream in chunks), as 'r'
 * events positioned `<snapshot LSN>:<running index>`. The caller has opened
 * the transaction (and set its snapshot); this module only reads.
 */
import type { Client, FieldDef } from 'pg';
import { correlationIdOf, type ChangeEvent, type Row, type SnapshotMarker } from '../change-event';
import type { ChangeBatch, SnapshotPlanEntry } from '../source';
import { decodeValue } from './decode-value';
import { quoteTable, splitTable, RAW_TEXT_TYPES } from './connection';
import { positionOf } from './lsn';

export interface SnapshotContext {
  system: string;
  database: string;
  lsn: bigint;
  primaryKeys: ReadonlyMap<string, string[]>;
  chunkRows: number;
  /** Checked between chunks: a stopping source ends the read early. */
  cancelled: () => boolean;
}

/**
 * Row counts as the planner's statistics estimate them: pg_class.reltuples
 * (-1 before the first VACUUM/ANALYZE, then the live-tuple count of the
 * statistics system stands in). Cheap catalogue reads, no scan.
 */
export async function estimateRows(client: Client, tables: string[]): Promise<SnapshotPlanEntry[]> {
  const entries: SnapshotPlanEntry[] = [];
  for (const table of tables) {
    const [schema, name] = splitTable(table);
    const { rows } = await client.query<{ n: string | null }>(
      `SELECT (CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint ELSE s.n_live_tup END)::text AS n
         FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
        WHERE ns.nspname = $1 AND c.relname = $2`, [schema, name]);
    const n = rows[0]?.n;
    entries.push({ table, estimatedRows: n === null || n === undefined ? null : Number(n) });
  }
  return entries;
}

/** Yields batches; the one ending a table carries `completedSnapshots: [table]`. */
export async function* snapshotBatches(client: Client, tables: string[], ctx: SnapshotContext): AsyncGenerator<ChangeBatch> {
  const startedMs = Date.now();
  const counter = { next: 0 };
  for (const [t, table] of tables.entries()) {
    const isLastTable = t === tables.length - 1;
    const reader = new TableReader(client, table, ctx, counter, startedMs);
    yield* reader.read(counter.next === 0, isLastTable);
    if (ctx.cancelled()) return;
  }
}

class TableReader {
  private readonly cursor = 'tandem_snapshot';

  constructor(
    private readonly client: Client,
    private readonly table: string,
    private readonly ctx: SnapshotContext,
    private readonly counter: { next: number },
    private readonly startedMs: number,
  ) {}

  /** One chunk of look-ahead, so the last row of the table can be marked as such. */
  async *read(firstOverall: boolean, lastTable: boolean): AsyncGenerator<ChangeBatch> {
    await this.client.query(`DECLARE ${this.cursor} NO SCROLL CURSOR FOR SELECT * FROM ${quoteTable(this.table)}`);
    let held = await this.fetch();
    let first = true;
    while (!this.ctx.cancelled()) {
      const next = held.length > 0 ? await this.fetch() : [];
      const lastChunk = next.length === 0;
      markChunk(held, { firstInTable: first, firstOverall: first && firstOverall, lastInTable: lastChunk, lastOverall: lastChunk && lastTable });
      yield this.batch(held, lastChunk);
      if (lastChunk) break;
      first = false;
      held = next;
    }
    await this.client.query(`CLOSE ${this.cursor}`);
  }

  private async fetch(): Promise<ChangeEvent[]> {
    const result = await this.client.query<string[]>({
      text: `FETCH FORWARD ${this.ctx.chunkRows} FROM ${this.cursor}`,
      rowMode: 'array',
      types: RAW_TEXT_TYPES,
    });
    return result.rows.map((values) => this.event(rowOf(result.fields, values)));
  }

  private event(after: Row): ChangeEvent {
    const [schema, table] = splitTable(this.table);
    const position = positionOf(this.ctx.lsn, this.counter.next++);
    return {
      op: 'r', before: null, after, unavailable: [],
      keyColumns: this.ctx.primaryKeys.get(this.table) ?? [],
      source: {
        system: this.ctx.system, connector: 'postgresql', database: this.ctx.database, schema, table,
        position, txId: null, commitTimeMs: this.startedMs, snapshot: 'true', origin: null,
      },
      tsMs: Date.now(),
      correlationId: correlationIdOf(this.ctx.system, position),
    };
  }

  private batch(events: ChangeEvent[], completes: boolean): ChangeBatch {
    const last = events[events.length - 1];
    // An empty table still needs a batch to report its snapshot complete: it takes an unused index.
    const position = last ? last.source.position : positionOf(this.ctx.lsn, this.counter.next);
    const batch: ChangeBatch = { system: this.ctx.system, events, position, sourceTimeMs: this.startedMs, snapshotTable: this.table };
    if (completes) batch.completedSnapshots = [this.table];
    return batch;
  }
}

function rowOf(fields: FieldDef[], values: (string | null)[]): Row {
  const row: Row = {};
  fields.forEach((field, i) => {
    const text = values[i];
    row[field.name] = text == null ? null : decodeValue(text, field.dataTypeID);
  });
  return row;
}

interface ChunkMarks {
  firstInTable: boolean;
  firstOverall: boolean;
  lastInTable: boolean;
  lastOverall: boolean;
}

/** Debezium's markers: first/last of the whole snapshot win over first/last of a table. */
function markChunk(events: ChangeEvent[], marks: ChunkMarks): void {
  const set = (event: ChangeEvent | undefined, marker: SnapshotMarker) => {
    if (event) event.source.snapshot = marker;
  };
  if (marks.lastInTable) set(events[events.length - 1], marks.lastOverall ? 'last' : 'last_in_data_collection');
  if (marks.firstInTable) set(events[0], marks.firstOverall ? 'first' : 'first_in_data_collection');
}
