/**
 * Snapshot reads: every row of the given tables, read in primary-key order
 * in chunks inside one consistent-snapshot transaction that the caller
 * opened, as 'r' events positioned just below the binlog point the stream
 * starts from (see position.ts). This module only reads.
 */
import type mysql from 'mysql2/promise';
import { correlationIdOf, type ChangeEvent, type Row, type SnapshotMarker } from '../change-event';
import { DecodeError } from '../../errors';
import type { ChangeBatch, SnapshotPlanEntry } from '../source';
import { snapshotPosition, type BinlogPoint } from './position';
import { quoteIdent, quoteTable, type TableInfo } from './schema';
import { convertValue } from './values';

export interface SnapshotContext {
  system: string;
  streamStart: BinlogPoint;
  tables: ReadonlyMap<string, TableInfo>;
  chunkRows: number;
  cancelled: () => boolean;
}

/** Row counts as the statistics estimate them (information_schema TABLES.TABLE_ROWS: exact for MyISAM, an estimate for InnoDB). */
export async function estimateRows(conn: mysql.Connection, tables: string[], infos: ReadonlyMap<string, TableInfo>): Promise<SnapshotPlanEntry[]> {
  const entries: SnapshotPlanEntry[] = [];
  for (const table of tables) {
    const info = infos.get(table);
    const [rows] = info
      ? await conn.query<mysql.RowDataPacket[]>('SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [info.database, info.table])
      : [[]];
    const n = rows[0]?.['n'];
    entries.push({ table, estimatedRows: n === null || n === undefined ? null : Number(n) });
  }
  return entries;
}

/** Yields batches; the one ending a table carries `completedSnapshots: [table]`. */
export async function* snapshotBatches(conn: mysql.Connection, tables: string[], ctx: SnapshotContext): AsyncGenerator<ChangeBatch> {
  const startedMs = Date.now();
  const counter = { next: 0 };
  for (const [t, qualified] of tables.entries()) {
    const info = ctx.tables.get(qualified);
    if (!info) throw new DecodeError(`no column information for ${qualified}`);
    const reader = new TableReader(conn, qualified, info, ctx, counter, startedMs);
    yield* reader.read(counter.next === 0, t === tables.length - 1);
    if (ctx.cancelled()) return;
  }
}

class TableReader {
  private lastKey: unknown[] | null = null;
  private offset = 0;

  constructor(
    private readonly conn: mysql.Connection,
    private readonly qualified: string,
    private readonly info: TableInfo,
    private readonly ctx: SnapshotContext,
    private readonly counter: { next: number },
    private readonly startedMs: number,
  ) {}

  /** One chunk of look-ahead, so the last row of the table can be marked as such. */
  async *read(firstOverall: boolean, lastTable: boolean): AsyncGenerator<ChangeBatch> {
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
  }

  /**
   * Keyset pagination on the primary key (each chunk an index range scan);
   * without a key, LIMIT/OFFSET, which the snapshot transaction keeps stable.
   * FLOAT and DOUBLE columns are read as CAST(… AS CHAR): the text protocol
   * prints a DOUBLE rounded (DBL_MAX as 1.7976931348623155e308; 1255 of 3009
   * random doubles differed in a test against MariaDB) and a FLOAT to 6
   * digits, while the cast prints the shortest exact text (no difference in
   * the same test), as exact as the binlog's IEEE bits.
   */
  private async fetch(): Promise<ChangeEvent[]> {
    const select = this.info.columns.map((c) => selectColumn(c.name, c.type.kind)).join(', ');
    const keys = this.info.keyColumns.map(quoteIdent);
    let sql = `SELECT ${select} FROM ${quoteTable(this.qualified)}`;
    const params: unknown[] = [];
    if (keys.length > 0) {
      if (this.lastKey) {
        sql += ` WHERE (${keys.join(', ')}) > (${keys.map(() => '?').join(', ')})`;
        params.push(...this.lastKey);
      }
      sql += ` ORDER BY ${keys.join(', ')} LIMIT ${this.ctx.chunkRows}`;
    } else {
      sql += ` LIMIT ${this.ctx.chunkRows} OFFSET ${this.offset}`;
    }
    const [rows] = await this.conn.query<mysql.RowDataPacket[]>(sql, params);
    this.offset += rows.length;
    const last = rows[rows.length - 1];
    if (last) this.lastKey = this.info.keyColumns.map((k) => last[k]);
    return rows.map((raw) => this.event(this.toRow(raw)));
  }

  private toRow(raw: mysql.RowDataPacket): Row {
    const row: Row = {};
    for (const column of this.info.columns) {
      try {
        row[column.name] = convertValue(raw[column.name], column.type);
      } catch (error) {
        if (error instanceof DecodeError) throw new DecodeError(`${error.message} (column ${column.name})`, { system: this.ctx.system, table: this.qualified }, { cause: error });
        throw error;
      }
    }
    return row;
  }

  private event(after: Row): ChangeEvent {
    const position = snapshotPosition(this.ctx.streamStart, this.counter.next++);
    return {
      op: 'r', before: null, after, unavailable: [], keyColumns: this.info.keyColumns,
      source: {
        system: this.ctx.system, connector: 'mysql', database: this.info.database, schema: this.info.database, table: this.info.table,
        position, txId: null, commitTimeMs: this.startedMs, snapshot: 'true', origin: null,
      },
      tsMs: Date.now(),
      correlationId: correlationIdOf(this.ctx.system, position),
    };
  }

  private batch(events: ChangeEvent[], completes: boolean): ChangeBatch {
    const last = events[events.length - 1];
    // An empty table still needs a batch to report its snapshot complete: it takes an unused count.
    const position = last ? last.source.position : snapshotPosition(this.ctx.streamStart, this.counter.next);
    const batch: ChangeBatch = { system: this.ctx.system, events, position, sourceTimeMs: this.startedMs, snapshotTable: this.qualified };
    if (completes) batch.completedSnapshots = [this.qualified];
    return batch;
  }
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

function selectColumn(name: string, kind: string): string {
  const column = quoteIdent(name);
  if (kind === 'double') return `CAST(${column} AS CHAR) AS ${column}`;
  if (kind === 'float') return `CAST(CAST(${column} AS DOUBLE) AS CHAR) AS ${column}`;
  return column;
}
