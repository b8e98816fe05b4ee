/**
 * The native MySQL/MariaDB source: reads the row-based binlog as a replica
 * (through @vlasky/zongji), takes the initial snapshot consistent with the
 * binlog position it streams from, writes heartbeats, and resumes from the
 * position the pipeline last made durable (`startPosition`, its checkpoint).
 *
 * Acknowledgement: a MySQL server keeps no per-replica state to release
 * (binlogs expire by age or size), so `acknowledge` only records the position
 * for `stats()`; durability is the pipeline's checkpoint, saved with each batch.
 *
 * Echoes: the binlog does not carry the writing user or a replication origin,
 * only the server id of each event group. With `echo` set (MariaDB: tandem's
 * apply connections `SET SESSION server_id`, see `apply.echoServerId`), events
 * of that server id carry the echo origin and the pipeline drops them; other
 * events come out with `origin: null`; without `echo`, tandem's own writes
 * come back as ordinary changes carrying the canonical values, which the
 * resolver finds unchanged.
 */
import ZongJi from '@vlasky/zongji';
import type mysql from 'mysql2/promise';
import type { Position } from '../change-event';
import type { ChangeBatch, ChangeSource, SourceStats } from '../source';
import { CaptureError, DecodeError, TandemError } from '../../errors';
import { BatchAssembler, BatchQueue, captureLimits, DEFAULT_CAPTURE_BUFFER_BYTES, estimateEventBytes, snapshotBytes, type CaptureLimits } from '../shared';
import { BinlogDecoder, type BinlogEvent } from './binlog-decoder';
import { ensureHeartbeatTable, Heartbeat } from './heartbeat';
import type { LogFn, MysqlSourceOptions } from './options';
import { binlogFileNumber, resumePointOf, type BinlogPoint, type ResumePoint } from './position';
import {
  binlogFiles, checkServer, connect, connectionOptions, databaseOf, HEARTBEAT_TABLE, loadTables, masterStatus, splitTable, type TableInfo,
} from './schema';
import { estimateRows, snapshotBatches } from './snapshot';

export function createMysqlSource(options: MysqlSourceOptions): ChangeSource {
  return new MysqlSource(options);
}

const BINLOG_EVENTS = ['rotate', 'tablemap', 'writerows', 'updaterows', 'deleterows', 'xid', 'query', 'mariadbgtid', 'gtid', 'anonymousgtid'];

class MysqlSource implements ChangeSource {
  readonly system: string;
  private readonly tables: string[];
  private readonly log: LogFn;
  private queue: BatchQueue | null = null;
  private zongji: ZongJi | null = null;
  private heartbeat: Heartbeat | null = null;
  private readonly connections = new Set<mysql.Connection>();
  private stopping = false;
  private acknowledged: Position | null;
  private paused = false;
  private readonly limits: CaptureLimits;
  /** Natural batching: the pipeline pulls when it is ready, and takes what the binlog brought meanwhile. */
  readonly readAhead = { ready: () => this.queue?.ready ?? 0 };

  constructor(private readonly options: MysqlSourceOptions) {
    this.system = options.system;
    this.tables = [...new Set(options.tables)];
    for (const t of this.tables) splitTable(t);
    this.log = options.log ?? (() => undefined);
    this.acknowledged = options.startPosition ?? null;
    this.limits = captureLimits(options.captureBufferBytes ?? DEFAULT_CAPTURE_BUFFER_BYTES);
  }

  async *batches(): AsyncGenerator<ChangeBatch> {
    if (this.queue) throw new CaptureError('batches() is already running', { system: this.system });
    this.stopping = false;
    const queue = new BatchQueue({
      capacityBytes: this.limits.pauseAtBytes,
      onTaken: () => {
        if (this.paused && queue.bufferedBytes < this.limits.resumeBelowBytes) {
          this.paused = false;
          this.zongji?.connection?.resume();
        }
      },
    });
    this.queue = queue;
    this.run(queue).catch((error: unknown) => queue.fail(this.asCaptureError(error)));
    try {
      for (;;) {
        const pending = await queue.next();
        if (!pending) return;
        yield pending.batch;
      }
    } finally {
      await this.stop();
    }
  }

  async acknowledge(position: Position): Promise<void> {
    if (this.acknowledged === null || position > this.acknowledged) this.acknowledged = position;
  }

  /** Binlog bytes from the acknowledged position to the end: what a restart would re-read at most. */
  async stats(): Promise<SourceStats> {
    if (!this.acknowledged) return { retainedBytes: null };
    const conn = await connect(this.options.connectionString);
    try {
      const { point } = resumePointOf(this.acknowledged);
      const files = await binlogFiles(conn);
      const bytes = files.filter((f) => f.number >= point.fileNumber).reduce((sum, f) => sum + f.size, 0) - point.pos;
      return { retainedBytes: Math.max(0, bytes) };
    } finally {
      await conn.end().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.queue?.setSupplier(null);
    this.queue?.close();
    const zongji = this.zongji;
    this.zongji = null;
    if (zongji) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2_000);
        zongji.once('stopped', () => {
          clearTimeout(timer);
          resolve();
        });
        zongji.stop();
      });
    }
    await Promise.all([this.heartbeat?.stop(), ...[...this.connections].map((c) => c.end().catch(() => c.destroy()))]);
    this.connections.clear();
    this.heartbeat = null;
    this.queue = null;
  }

  private async run(queue: BatchQueue): Promise<void> {
    const o = this.options;
    const conn = await this.open();
    let tables: Map<string, TableInfo>;
    let start: ResumePoint;
    let fileName: string;
    const heartbeatDb = o.heartbeatDatabase ?? databaseOf(o.connectionString) ?? splitTable(this.tables[0] ?? 'tandem.none')[0];
    try {
      const server = await checkServer(conn);
      if (server.rowImage !== 'FULL') this.log('warn', `binlog_row_image is ${server.rowImage}: before-images are partial and unchanged columns are reported unavailable`);
      tables = await loadTables(conn, this.tables);
      if (o.heartbeatMs > 0) await ensureHeartbeatTable(conn, heartbeatDb);
      const toSnapshot = o.snapshot === 'initial' ? this.tables.filter((t) => !o.snapshotted.has(t)) : [];
      if (o.startPosition) {
        start = resumePointOf(o.startPosition);
        // Tables added since (or whose snapshot was interrupted): read before streaming, positioned
        // below the resume point. Changes streamed afterwards sort above them and re-apply in order.
        if (toSnapshot.length > 0) await this.snapshot(conn, toSnapshot, tables, start.point, queue, false);
      } else if (toSnapshot.length > 0) {
        start = { point: await this.snapshot(conn, toSnapshot, tables, null, queue, true), skipThrough: -1 };
      } else {
        const status = await masterStatus(conn);
        start = { point: { fileNumber: binlogFileNumber(status.file), pos: status.pos }, skipThrough: -1 };
      }
      const file = (await binlogFiles(conn)).find((f) => f.number === start.point.fileNumber);
      if (!file) {
        throw new CaptureError(
          `binlog file number ${start.point.fileNumber} needed to resume is no longer on the server (purged?): a new snapshot is needed`,
          { system: this.system, position: o.startPosition ?? undefined },
          { retriable: false },
        );
      }
      fileName = file.name;
    } finally {
      this.connections.delete(conn);
      await conn.end().catch(() => undefined);
    }
    if (this.stopping) return;
    this.stream(queue, tables, start, fileName, heartbeatDb);
    this.heartbeat = new Heartbeat(o.connectionString, heartbeatDb, `${this.system}:${o.serverId}`, o.heartbeatMs, this.log);
    this.heartbeat.start();
  }

  private async open(): Promise<mysql.Connection> {
    const conn = await connect(this.options.connectionString);
    this.connections.add(conn);
    return conn;
  }

  /**
   * Reads the tables in one consistent snapshot. `consistent`: the stream will
   * start at the snapshot's own binlog position, returned. MariaDB reports it
   * with the snapshot (binlog_snapshot_file/position), without a global lock;
   * elsewhere a brief FLUSH TABLES WITH READ LOCK pins SHOW MASTER STATUS to it.
   */
  private async snapshot(
    conn: mysql.Connection, toSnapshot: string[], tables: Map<string, TableInfo>, at: BinlogPoint | null, queue: BatchQueue, consistent: boolean,
  ): Promise<BinlogPoint> {
    this.log('info', 'snapshotting tables', { tables: toSnapshot });
    await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    let point = at;
    if (consistent) {
      await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
      const [status] = await conn.query<mysql.RowDataPacket[]>(`SHOW STATUS LIKE 'binlog_snapshot_%'`);
      const byName = new Map(status.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));
      const file = byName.get('binlog_snapshot_file');
      const pos = byName.get('binlog_snapshot_position');
      if (file && pos) {
        point = { fileNumber: binlogFileNumber(file), pos: Number(pos) };
      } else {
        await conn.query('ROLLBACK');
        await conn.query('FLUSH TABLES WITH READ LOCK');
        try {
          await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
          const status2 = await masterStatus(conn);
          point = { fileNumber: binlogFileNumber(status2.file), pos: status2.pos };
        } finally {
          await conn.query('UNLOCK TABLES');
        }
      }
    } else {
      await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
    }
    if (!point) throw new CaptureError('no binlog position for the snapshot', { system: this.system });
    this.log('info', 'snapshot binlog position', { fileNumber: point.fileNumber, pos: point.pos });
    const ctx = { system: this.system, streamStart: point, tables, chunkRows: this.options.maxBatchEvents, cancelled: () => this.stopping };
    if (this.options.onSnapshotPlanned) this.options.onSnapshotPlanned(await estimateRows(conn, toSnapshot, tables));
    for await (const batch of snapshotBatches(conn, toSnapshot, ctx)) await queue.pushWhenRoom({ batch: { ...batch, bytes: snapshotBytes(batch.events) }, flushLsn: null });
    await conn.query('COMMIT');
    return point;
  }

  private stream(queue: BatchQueue, tables: Map<string, TableInfo>, start: ResumePoint, fileName: string, heartbeatDb: string): void {
    const o = this.options;
    const decoder = new BinlogDecoder({ system: this.system, tables, resume: start, echo: o.echo });
    const push = (batch: ChangeBatch) => {
      queue.push({ batch, flushLsn: null });
      if (!this.paused && queue.bufferedBytes >= this.limits.pauseAtBytes) {
        this.paused = true;
        this.zongji?.connection?.pause();
      }
    };
    // Natural batching (see BatchQueue): committed transactions go on when the pipeline asks, at once if it is waiting.
    const assembler = new BatchAssembler(this.system, o.maxBatchEvents, (pending) => push(pending.batch), this.limits.maxBatchBytes);
    queue.setSupplier(assembler);
    const u = connectionOptions(o.connectionString);
    const zongji = new ZongJi({
      host: u.host, port: u.port, user: u.user, password: u.password,
      // Temporal values as text (a Date has milliseconds only), TIMESTAMP in UTC, DECIMAL and JSON as text.
      dateStrings: true, timezone: 'Z', decimalNumbers: false, jsonStrings: true, supportBigNumbers: true, bigNumberStrings: true,
    } as ConstructorParameters<typeof ZongJi>[0]);
    this.zongji = zongji;
    zongji.on('error', (error: unknown) => {
      if (this.stopping) return;
      queue.fail(new CaptureError(`binlog stream failed: ${(error as Error)?.message ?? error}`, { system: this.system }, { cause: error }));
    });
    zongji.on('binlog', (anyEvent) => {
      const event = anyEvent as unknown as BinlogEvent;
      if (this.stopping || queue.isClosed) return;
      try {
        // A rows event carries several rows: each gets its share of the event's size.
        const bytes = estimateEventBytes((event.size ?? 0) / Math.max(1, event.rows?.length ?? 1));
        for (const decoded of decoder.decode(event)) {
          if (decoded.kind === 'event') {
            assembler.add(decoded.event, bytes);
            continue;
          }
          if (decoded.events > 0 && assembler.commit(decoded.commitTimeMs)) {
            if (queue.consumerWaiting) assembler.flush();
          } else if (decoded.heartbeat) {
            // Everything before the heartbeat goes first, then the empty batch that moves the position on.
            assembler.flush();
            push({ system: this.system, events: [], position: decoded.position, sourceTimeMs: decoded.commitTimeMs });
          }
        }
      } catch (error) {
        queue.fail(error instanceof TandemError ? error : new DecodeError(`undecodable binlog event: ${(error as Error)?.message ?? error}`, { system: this.system }, { cause: error }));
        void this.stop();
      }
    });
    const includeSchema: Record<string, string[]> = {};
    for (const t of [...this.tables, ...(o.heartbeatMs > 0 ? [`${heartbeatDb}.${HEARTBEAT_TABLE}`] : [])]) {
      const [db, table] = splitTable(t);
      (includeSchema[db] ??= []).push(table);
    }
    zongji.start({
      serverId: o.serverId, filename: fileName, position: start.point.pos, includeEvents: BINLOG_EVENTS, includeSchema,
    } as Parameters<ZongJi['start']>[0]);
    this.log('info', 'binlog streaming started', { file: fileName, pos: start.point.pos, serverId: o.serverId });
  }

  private asCaptureError(error: unknown): unknown {
    if (error instanceof TandemError) return error;
    return new CaptureError(`mysql capture failed: ${(error as Error)?.message ?? error}`, { system: this.system }, { cause: error });
  }
}
