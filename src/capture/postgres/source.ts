/**
 * The native PostgreSQL source: publication and slot set-up, the initial
 * snapshot (consistent with the slot), snapshots of tables added later, the
 * replication stream, heartbeats and acknowledgements.
 */
import type { Client } from 'pg';
import type { Position } from '../change-event';
import type { ChangeBatch, ChangeSource, SourceStats } from '../source';
import { CaptureError, TandemError } from '../../errors';
import { AckTracker, BatchQueue, captureLimits, DEFAULT_CAPTURE_BUFFER_BYTES, snapshotBytes, type CaptureLimits } from '../shared';
import { ChangeDecoder } from './change-decoder';
import { normalClient, normaliseTable } from './connection';
import { Heartbeat } from './heartbeat';
import { parseLsn } from './lsn';
import type { LogFn, PostgresSourceOptions } from './options';
import { ReplicationConnection } from './replication-connection';
import { prepareServer, retainedBytes, type ServerState } from './setup';
import { estimateRows, snapshotBatches, type SnapshotContext } from './snapshot';
import { StreamReader } from './stream-reader';

export function createPostgresSource(options: PostgresSourceOptions): ChangeSource {
  return new PostgresSource(options);
}

class PostgresSource implements ChangeSource {
  readonly system: string;
  private readonly tables: string[];
  private readonly log: LogFn;
  private acks = new AckTracker();
  private queue: BatchQueue | null = null;
  private connection: ReplicationConnection | null = null;
  private stream: StreamReader | null = null;
  private heartbeat: Heartbeat | null = null;
  private readonly snapshotClients = new Set<Client>();
  private stopping = false;

  private readonly limits: CaptureLimits;
  /** Natural batching: the pipeline pulls when it is ready, and takes what the stream collected meanwhile. */
  readonly readAhead = { ready: () => this.queue?.ready ?? 0 };

  constructor(private readonly options: PostgresSourceOptions) {
    this.system = options.system;
    this.tables = [...new Set(options.tables.map(normaliseTable))];
    this.log = options.log ?? (() => undefined);
    this.limits = captureLimits(options.captureBufferBytes ?? DEFAULT_CAPTURE_BUFFER_BYTES);
  }

  async *batches(): AsyncGenerator<ChangeBatch> {
    if (this.queue) throw new CaptureError('batches() is already running', { system: this.system });
    this.stopping = false;
    const queue = new BatchQueue({ capacityBytes: this.limits.pauseAtBytes, onTaken: () => this.stream?.maybeResume() });
    this.queue = queue;
    this.run(queue).catch((error: unknown) => queue.fail(this.asCaptureError(error)));
    try {
      for (;;) {
        const pending = await queue.next();
        if (!pending) return;
        this.acks.record(pending);
        yield pending.batch;
      }
    } finally {
      await this.stop();
    }
  }

  async acknowledge(position: Position): Promise<void> {
    this.acks.acknowledge(position);
  }

  async stats(): Promise<SourceStats> {
    const client = normalClient(this.options.connectionString, 'tandem-stats');
    await client.connect();
    try {
      return { retainedBytes: await retainedBytes(client, this.options.slot) };
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.queue?.close();
    this.stream?.stop();
    // The final status carries what was acknowledged, so a restart resumes right after it.
    this.stream?.sendStatus();
    await Promise.all([
      this.connection?.close(),
      this.heartbeat?.stop(),
      ...[...this.snapshotClients].map((c) => c.end().catch(() => undefined)),
    ]);
    this.snapshotClients.clear();
    this.stream = null;
    this.connection = null;
    this.heartbeat = null;
    this.queue = null;
  }

  private async run(queue: BatchQueue): Promise<void> {
    const state = await this.prepare();
    const connection = new ReplicationConnection(this.options.connectionString, this.system);
    this.connection = connection;
    await connection.connect((error) => queue.fail(error));
    const decoder = new ChangeDecoder({ system: this.system, database: state.database, tables: new Set(this.tables), primaryKeys: state.primaryKeys });
    let lateTables: string[] = [];
    if (state.slotConfirmedFlush === null) {
      await this.createSlotAndSnapshot(connection, state, queue);
    } else {
      this.acks = new AckTracker(state.slotConfirmedFlush);
      if (this.options.snapshot === 'initial') lateTables = this.tables.filter((t) => !this.options.snapshotted.has(t));
    }
    if (this.stopping) return;
    this.startStream(connection, decoder, state, queue);
    if (lateTables.length > 0) await this.lateSnapshot(lateTables, state, queue);
  }

  private async prepare(): Promise<ServerState> {
    const admin = normalClient(this.options.connectionString, `tandem-${this.system}-setup`);
    await admin.connect();
    try {
      return await prepareServer(admin, this.system, this.options.slot, this.options.publication, this.tables);
    } finally {
      await admin.end();
    }
  }

  /**
   * A fresh slot exports the snapshot of its consistent point: rows read in it
   * plus the changes streamed from that point are exactly the database, no
   * row lost or doubled. The snapshot is only valid until the next command
   * on the replication connection, so it is read in full before streaming.
   */
  private async createSlotAndSnapshot(connection: ReplicationConnection, state: ServerState, queue: BatchQueue): Promise<void> {
    const wantSnapshot = this.options.snapshot === 'initial';
    const slot = await connection.createSlot(this.options.slot, wantSnapshot);
    this.acks = new AckTracker(slot.consistentPoint);
    this.log('info', 'replication slot created', { slot: this.options.slot, consistentPoint: slot.consistentPoint.toString(16) });
    if (!wantSnapshot || !slot.snapshotName) return;
    // Positions at consistent point − 1: streamed transactions commit at or after the
    // consistent point, so every snapshot row sorts strictly before every streamed change.
    const snapshotName = slot.snapshotName;
    await this.snapshot(this.tables, state, queue, slot.consistentPoint - 1n, async (client) => {
      await client.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replace(/'/g, "''")}'`);
    });
  }

  /**
   * Tables added to the configuration after the slot was created. The
   * snapshot is positioned at pg_current_wal_lsn() read just before it: a
   * streamed change committed before that LSN sorts below every snapshot row,
   * and the pipeline drops changes of a record at or below a position it
   * already has, so changes the snapshot already contains are harmlessly
   * skipped, while changes committed later sort above and are applied. (A
   * transaction whose commit record is written but not yet visible when the
   * snapshot is taken is the narrow exception.) Streaming goes on meanwhile.
   */
  private async lateSnapshot(tables: string[], state: ServerState, queue: BatchQueue): Promise<void> {
    this.log('info', 'snapshotting tables added to the configuration', { tables });
    let lsn = 0n;
    await this.snapshot(tables, state, queue, null, async (client) => {
      const result = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      lsn = parseLsn(result.rows[0]?.lsn ?? '0/0');
    }, () => lsn);
  }

  private async snapshot(
    tables: string[], state: ServerState, queue: BatchQueue, fixedLsn: bigint | null,
    prepare: (client: Client) => Promise<void>, lateLsn: () => bigint = () => 0n,
  ): Promise<void> {
    const client = normalClient(this.options.connectionString, `tandem-${this.system}-snapshot`);
    this.snapshotClients.add(client);
    client.on('error', () => undefined); // surfaced by the pending query
    await client.connect();
    try {
      // For a late snapshot `prepare` reads the LSN before BEGIN; for the exported one it must follow BEGIN.
      if (fixedLsn === null) await prepare(client);
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      if (fixedLsn !== null) await prepare(client);
      if (this.options.onSnapshotPlanned) this.options.onSnapshotPlanned(await estimateRows(client, tables));
      const ctx: SnapshotContext = {
        system: this.system, database: state.database, lsn: fixedLsn ?? lateLsn(), primaryKeys: state.primaryKeys,
        chunkRows: this.options.maxBatchEvents, cancelled: () => this.stopping,
      };
      for await (const batch of snapshotBatches(client, tables, ctx)) await queue.pushWhenRoom({ batch: { ...batch, bytes: snapshotBytes(batch.events) }, flushLsn: null });
      await client.query('COMMIT');
    } finally {
      this.snapshotClients.delete(client);
      await client.end().catch(() => undefined);
    }
  }

  private startStream(connection: ReplicationConnection, decoder: ChangeDecoder, state: ServerState, queue: BatchQueue): void {
    const o = this.options;
    const stream = new StreamReader({
      system: this.system, connection, decoder, queue, acks: this.acks, maxBatchEvents: o.maxBatchEvents,
      limits: this.limits, statusIntervalMs: o.statusIntervalMs,
      onError: (error) => queue.fail(error),
    });
    this.stream = stream;
    const pluginOptions = [`proto_version '1'`, `publication_names '${o.publication.replace(/'/g, "''")}'`, `messages 'true'`];
    // PG 16+ filters changes by origin; 'any' keeps tandem's own (origin-tagged) writes so echoes can be recognised.
    if (state.serverVersion >= 160000) pluginOptions.push(`origin 'any'`);
    connection.start(o.slot, 0n, pluginOptions, { onCopyData: (chunk) => stream.onCopyData(chunk), onLost: (error) => queue.fail(error) });
    stream.start();
    this.heartbeat = new Heartbeat(o.connectionString, o.heartbeatMs, this.log);
    this.heartbeat.start();
    this.log('info', 'replication started', { slot: o.slot, publication: o.publication });
  }

  private asCaptureError(error: unknown): unknown {
    if (error instanceof TandemError) return error;
    return new CaptureError(`postgres capture failed: ${(error as Error)?.message ?? error}`, { system: this.system }, { cause: error });
  }
}
