/**
 * A `pg` Client opened with `replication: 'database'`. START_REPLICATION puts
 * the connection in CopyBoth mode: pg's Connection then emits each server
 * CopyData as a 'copyData' event, and we write ours with sendCopyFromChunk.
 * Neither is in pg's public types, hence the narrow interface below.
 */
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { Client, escapeIdentifier, type ClientConfig } from 'pg';
import { CaptureError } from '../../errors';
import { SESSION_OPTIONS } from './connection';
import { formatLsn, parseLsn } from './lsn';

interface CopyBothConnection extends EventEmitter {
  stream: Duplex;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

export interface CreatedSlot {
  consistentPoint: bigint;
  /** Name of the exported snapshot, usable until the next command on this connection. */
  snapshotName: string | null;
}

export interface StreamHandlers {
  onCopyData(chunk: Buffer): void;
  /** The connection failed or ended while not being closed by us. */
  onLost(error: CaptureError): void;
}

export class ReplicationConnection {
  private readonly client: Client;
  private streaming: Promise<void> | null = null;
  private closing = false;

  constructor(connectionString: string, private readonly system: string) {
    const config = { connectionString, replication: 'database', options: SESSION_OPTIONS, application_name: `tandem-${system}` };
    this.client = new Client(config as ClientConfig);
  }

  private get connection(): CopyBothConnection {
    return (this.client as unknown as { connection: CopyBothConnection }).connection;
  }

  async connect(onLost: (error: CaptureError) => void): Promise<void> {
    this.client.on('error', (error) => this.lost(onLost, error));
    this.client.on('end', () => this.lost(onLost, new Error('connection ended')));
    await this.client.connect();
  }

  private lost(onLost: (error: CaptureError) => void, cause: unknown): void {
    if (this.closing) return;
    this.closing = true;
    onLost(new CaptureError(`replication connection lost: ${(cause as Error)?.message ?? cause}`, { system: this.system }, { cause }));
  }

  /** SNAPSHOT 'export' (PG ≥ 15 syntax) when a consistent snapshot is wanted, else 'nothing'. */
  async createSlot(slot: string, exportSnapshot: boolean): Promise<CreatedSlot> {
    const mode = exportSnapshot ? 'export' : 'nothing';
    const result = await this.client.query(`CREATE_REPLICATION_SLOT ${escapeIdentifier(slot)} LOGICAL pgoutput (SNAPSHOT '${mode}')`);
    const row = result.rows[0] as { consistent_point: string; snapshot_name: string | null } | undefined;
    if (!row) throw new CaptureError('CREATE_REPLICATION_SLOT returned no row', { system: this.system });
    return { consistentPoint: parseLsn(row.consistent_point), snapshotName: row.snapshot_name };
  }

  /** Enters CopyBoth mode. 0/0 lets the server start at the slot's confirmed_flush_lsn. */
  start(slot: string, startLsn: bigint, pluginOptions: string[], handlers: StreamHandlers): void {
    this.connection.on('copyData', (message: { chunk: Buffer }) => handlers.onCopyData(message.chunk));
    const sql = `START_REPLICATION SLOT ${escapeIdentifier(slot)} LOGICAL ${formatLsn(startLsn)} (${pluginOptions.join(', ')})`;
    this.streaming = this.client.query(sql).then(
      () => {
        if (!this.closing) this.lost(handlers.onLost, new Error('server ended replication'));
      },
      (error: unknown) => this.lost(handlers.onLost, error),
    );
  }

  send(chunk: Buffer): void {
    if (!this.closing) this.connection.sendCopyFromChunk(chunk);
  }

  pause(): void {
    this.connection.stream.pause();
  }

  resume(): void {
    this.connection.stream.resume();
  }

  /** Ends CopyBoth with CopyDone (the server answers and ends the command), then closes. */
  async close(): Promise<void> {
    const wasClosing = this.closing;
    this.closing = true;
    if (this.streaming && !wasClosing) {
      this.resume();
      this.connection.endCopyFrom();
      await Promise.race([this.streaming, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    }
    await this.client.end().catch(() => undefined);
  }
}
