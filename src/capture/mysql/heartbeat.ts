/**
 * Heartbeats: a row upserted into `tandem_heartbeat` on a normal connection.
 * Its row event travels through the binlog like a change, so when it comes
 * back the source yields an empty batch at its position: lag advances and the
 * checkpoint moves on a database whose mapped tables are quiet. The table is
 * created if missing and never mapped (its events are recognised by name).
 */
import type mysql from 'mysql2/promise';
import type { Position } from '../change-event';
import { binlogFileNumber, streamPosition } from './position';
import type { LogFn } from './options';
import { connect, HEARTBEAT_TABLE, masterStatus, quoteIdent } from './schema';

export async function ensureHeartbeatTable(conn: mysql.Connection, database: string): Promise<void> {
  await conn.query(
    `CREATE TABLE IF NOT EXISTS ${quoteIdent(database)}.${quoteIdent(HEARTBEAT_TABLE)} (
       id VARCHAR(190) PRIMARY KEY, beat_at DATETIME(6) NOT NULL, beats BIGINT NOT NULL
     ) ENGINE=InnoDB`,
  );
}

export async function writeHeartbeat(conn: mysql.Connection, database: string, id: string): Promise<void> {
  await conn.query(
    `INSERT INTO ${quoteIdent(database)}.${quoteIdent(HEARTBEAT_TABLE)} (id, beat_at, beats) VALUES (?, UTC_TIMESTAMP(6), 1)
     ON DUPLICATE KEY UPDATE beat_at = VALUES(beat_at), beats = beats + 1`,
    [id],
  );
}

/**
 * For `drain()`-style waits: the binlog end now, as a position every later
 * transaction's (and so the heartbeat written here's) position is at or
 * above. Once a source's durable position reaches it, everything committed
 * before the call has been delivered.
 */
export async function emitMysqlMark(url: string, database: string, id = 'mark'): Promise<Position> {
  const conn = await connect(url);
  try {
    await ensureHeartbeatTable(conn, database);
    const { file, pos } = await masterStatus(conn);
    await writeHeartbeat(conn, database, id);
    return streamPosition({ fileNumber: binlogFileNumber(file), pos }, 0);
  } finally {
    await conn.end().catch(() => undefined);
  }
}

export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private conn: mysql.Connection | null = null;
  private busy = false;

  constructor(
    private readonly url: string,
    private readonly database: string,
    private readonly id: string,
    private readonly intervalMs: number,
    private readonly log: LogFn,
  ) {}

  start(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      this.conn ??= await connect(this.url);
      await writeHeartbeat(this.conn, this.database, this.id);
    } catch (error) {
      // A failed heartbeat only delays lag and checkpoint updates; the next tick reconnects.
      this.log('warn', 'heartbeat failed', { error: (error as Error).message });
      const conn = this.conn;
      this.conn = null;
      await conn?.end().catch(() => undefined);
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const conn = this.conn;
    this.conn = null;
    await conn?.end().catch(() => undefined);
  }
}
