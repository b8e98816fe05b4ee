/**
 * Binlog events (as @vlasky/zongji parses them) → change events, event group
 * by event group. Tracks the binlog file and where each transaction starts
 * (the end of the previous group: positions name it, see position.ts),
 * numbers the captured rows of each transaction, recognises heartbeats and,
 * right after a restart, skips the rows of the first transaction that were
 * already delivered, and marks tandem's own writes (their events' server id
 * is the configured echo server id) with its origin. Pure: no I/O, so it is unit-tested with hand-built events.
 */
import { correlationIdOf, type ChangeEvent, type Op, type Row } from '../change-event';
import { DecodeError } from '../../errors';
import { binlogFileNumber, streamPosition, type BinlogPoint, type ResumePoint } from './position';
import { HEARTBEAT_TABLE, type TableInfo } from './schema';
import { convertValue, kindOfBinlogColumn } from './values';

/** Binlog event headers carry whole seconds (and the statement's start, not its commit). */
export const BINLOG_TIME_PRECISION_MS = 1000;

/** The parts of zongji's events this decoder reads. */
export interface BinlogColumn {
  name: string;
  type: number;
  metadata?: { bits?: number } | null;
}
export interface BinlogEvent {
  getTypeName(): string;
  /** ms since the epoch (the binlog has whole seconds). */
  timestamp: number;
  nextPosition: number;
  /** The event's size in the binlog (bytes). */
  size?: number;
  gtid?: string;
  /**
   * The event header's server id: who wrote the event group. zongji 0.9 keeps it
   * on MariaDB GTID events only (every event of a group has the same); taken
   * from any event that carries it.
   */
  serverId?: number;
  /** Rotate */
  binlogName?: string;
  position?: number;
  /** Query */
  query?: string;
  /** Xid */
  xid?: number | string | bigint;
  /** Rows events */
  tableId?: number;
  tableMap?: Record<number, { parentSchema: string; tableName: string; columns: BinlogColumn[] }>;
  rows?: unknown[];
}

export interface DecoderContext {
  system: string;
  /** Qualified `database.table` names to emit. */
  tables: ReadonlyMap<string, TableInfo>;
  /** Where the stream starts, and what of its first transaction was delivered already. */
  resume: ResumePoint;
  /** Event groups written with this server id are tandem's own: their events carry `origin`. */
  echo?: { serverId: number; origin: string };
  now?: () => number;
}

export type Decoded =
  | { kind: 'event'; event: ChangeEvent }
  /** A transaction ended. `events`: how many of its rows were emitted; `heartbeat`: it wrote a heartbeat row. */
  | { kind: 'commit'; commitTimeMs: number; events: number; heartbeat: boolean; position: string };

interface OpenTransaction {
  start: BinlogPoint;
  gtid: string | null;
  /** Header server id of the group, when known. */
  serverId: number | null;
  nextIndex: number;
  emitted: ChangeEvent[];
  heartbeat: boolean;
}

const TX_CONTROL = /^(BEGIN|SAVEPOINT|ROLLBACK\s+TO|RELEASE\s+SAVEPOINT|XA\s+START|XA\s+END|XA\s+PREPARE)\b/i;

export class BinlogDecoder {
  private fileNumber: number;
  /** End of the last complete event group: where the next one starts. */
  private boundary: number;
  private tx: OpenTransaction | null = null;
  private skip: { start: BinlogPoint; through: number } | null;

  constructor(private readonly ctx: DecoderContext) {
    this.fileNumber = ctx.resume.point.fileNumber;
    this.boundary = ctx.resume.point.pos;
    this.skip = ctx.resume.skipThrough >= 0 ? { start: ctx.resume.point, through: ctx.resume.skipThrough } : null;
  }

  get inTransaction(): boolean {
    return this.tx !== null;
  }

  /** Where a restart should stream from to lose nothing now (the open transaction's start, or the last boundary). */
  get safePoint(): BinlogPoint {
    return this.tx?.start ?? { fileNumber: this.fileNumber, pos: this.boundary };
  }

  decode(event: BinlogEvent): Decoded[] {
    switch (event.getTypeName()) {
      case 'Rotate':
        // The artificial rotate at dump start names the start file and position; a real one, the next file.
        if (event.binlogName) this.fileNumber = binlogFileNumber(event.binlogName);
        if (typeof event.position === 'number') this.boundary = event.position;
        return [];
      case 'MariadbGtid':
      case 'Gtid':
      case 'AnonymousGtid':
        this.open(event, true);
        return [];
      case 'Query':
        return this.query(event);
      case 'Xid':
        return this.commit(event, event.xid === undefined ? null : String(event.xid));
      case 'WriteRows':
        return this.rows(event, 'c');
      case 'UpdateRows':
        return this.rows(event, 'u');
      case 'DeleteRows':
        return this.rows(event, 'd');
      default:
        return [];
    }
  }

  private open(event: BinlogEvent, fromGtidEvent: boolean): OpenTransaction {
    const serverId = typeof event.serverId === 'number' ? event.serverId : null;
    if (this.tx && !fromGtidEvent) {
      if (serverId !== null) this.tx.serverId = serverId;
      return this.tx;
    }
    // A GTID event always begins a new group; one still open (a DDL has no commit marker
    // on some servers) ended before it — without rows of ours, or its commit would have closed it.
    this.tx = {
      start: { fileNumber: this.fileNumber, pos: this.boundary }, gtid: event.gtid ?? null, serverId, nextIndex: 0, emitted: [], heartbeat: false,
    };
    return this.tx;
  }

  private query(event: BinlogEvent): Decoded[] {
    const text = (event.query ?? '').trim();
    if (/^BEGIN\b/i.test(text)) {
      if (!this.tx) this.open(event, false);
      return [];
    }
    if (TX_CONTROL.test(text) && this.tx) return [];
    // COMMIT, ROLLBACK, XA COMMIT/ROLLBACK, or a DDL (which commits implicitly): the group ends.
    return this.commit(event, null);
  }

  private commit(event: BinlogEvent, xid: string | null): Decoded[] {
    const tx = this.tx;
    this.tx = null;
    if (event.nextPosition > 0) this.boundary = event.nextPosition;
    if (!tx) return [];
    if (this.skip && samePoint(this.skip.start, tx.start)) this.skip = null;
    // Without GTIDs (MySQL, gtid_mode OFF) the XID, known only now, identifies the transaction.
    if (tx.gtid === null && xid !== null) for (const e of tx.emitted) e.source.txId = xid;
    const last = tx.emitted[tx.emitted.length - 1];
    const position = last ? last.source.position : streamPosition(tx.start, 0);
    return [{ kind: 'commit', commitTimeMs: event.timestamp, events: tx.emitted.length, heartbeat: tx.heartbeat, position }];
  }

  private rows(event: BinlogEvent, op: 'c' | 'u' | 'd'): Decoded[] {
    const map = event.tableId === undefined ? undefined : event.tableMap?.[event.tableId];
    if (!map) throw new DecodeError(`binlog rows event for table id ${event.tableId} without its table map`);
    const tx = this.open(event, false);
    if (map.tableName === HEARTBEAT_TABLE) {
      tx.heartbeat = true;
      return [];
    }
    const qualified = `${map.parentSchema}.${map.tableName}`;
    const info = this.ctx.tables.get(qualified);
    if (!info) return [];
    const out: Decoded[] = [];
    for (const raw of event.rows ?? []) {
      if (op === 'u') {
        const pair = raw as { before: Record<string, unknown>; after: Record<string, unknown> };
        const before = this.toRow(map.columns, pair.before, info, qualified);
        const after = this.toRow(map.columns, pair.after, info, qualified);
        // A key change is a delete of the old key and an insert of the new one, as Debezium emits it.
        if (info.keyColumns.some((k) => JSON.stringify(before.row[k]) !== JSON.stringify(after.row[k]))) {
          out.push(...this.emit(tx, event, info, 'd', before.row, null, []));
          out.push(...this.emit(tx, event, info, 'c', null, after.row, after.unavailable));
        } else {
          out.push(...this.emit(tx, event, info, 'u', before.row, after.row, after.unavailable));
        }
      } else {
        const row = this.toRow(map.columns, raw as Record<string, unknown>, info, qualified);
        out.push(...(op === 'c' ? this.emit(tx, event, info, 'c', null, row.row, row.unavailable) : this.emit(tx, event, info, 'd', row.row, null, [])));
      }
    }
    return out;
  }

  private toRow(columns: BinlogColumn[], values: Record<string, unknown>, info: TableInfo, qualified: string): { row: Row; unavailable: string[] } {
    const row: Row = {};
    const unavailable: string[] = [];
    for (const column of columns) {
      // Under binlog_row_image MINIMAL/NOBLOB a column may be left out: the current value stands.
      if (!(column.name in values)) {
        unavailable.push(column.name);
        continue;
      }
      const value = values[column.name];
      const type = kindOfBinlogColumn(column.type, info.jsonColumns.has(column.name), typeof value === 'string', column.metadata?.bits);
      try {
        row[column.name] = convertValue(value, type);
      } catch (error) {
        if (error instanceof DecodeError) {
          throw new DecodeError(`${error.message} (column ${column.name})`, { system: this.ctx.system, table: qualified }, { cause: error });
        }
        throw error;
      }
    }
    return { row, unavailable };
  }

  private emit(tx: OpenTransaction, event: BinlogEvent, info: TableInfo, op: Op, before: Row | null, after: Row | null, unavailable: string[]): Decoded[] {
    const index = tx.nextIndex++;
    if (this.skip && samePoint(this.skip.start, tx.start) && index <= this.skip.through) return [];
    const position = streamPosition(tx.start, index);
    const echo = this.ctx.echo;
    const changeEvent: ChangeEvent = {
      op,
      before,
      after,
      unavailable: op === 'd' ? [] : unavailable,
      keyColumns: info.keyColumns,
      source: {
        system: this.ctx.system, connector: 'mysql', database: info.database, schema: info.database, table: info.table,
        position, txId: tx.gtid,
        // The binlog event header has whole seconds: the commit time is only known to the second.
        commitTimeMs: event.timestamp,
        commitTimePrecisionMs: BINLOG_TIME_PRECISION_MS,
        snapshot: 'false',
        // The binlog names no writer, only a server id: tandem's apply connections set theirs to the
        // echo server id (MariaDB), so those events are its own.
        origin: echo !== undefined && tx.serverId === echo.serverId ? echo.origin : null,
      },
      tsMs: (this.ctx.now ?? Date.now)(),
      correlationId: correlationIdOf(this.ctx.system, position),
    };
    tx.emitted.push(changeEvent);
    return [{ kind: 'event', event: changeEvent }];
  }
}

function samePoint(a: BinlogPoint, b: BinlogPoint): boolean {
  return a.fileNumber === b.fileNumber && a.pos === b.pos;
}
