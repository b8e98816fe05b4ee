import type { ChangeEvent, Position } from './change-event';

/**
 * What a capture source yields: one or more events, plus the position up to
 * which the source has now delivered everything. A batch may be empty when it
 * only advances the position (a heartbeat or a filtered transaction), which is
 * what keeps lag honest on a quiet database.
 */
export interface ChangeBatch {
  system: string;
  events: ChangeEvent[];
  /** Everything at or before this position has been delivered. */
  position: Position;
  /** Commit time (ms) of the newest transaction in the batch, or of the heartbeat. */
  sourceTimeMs: number;
  /**
   * Estimated memory its events take (see estimateEventBytes), when the
   * source knows it: queues between capture and resolve are bounded by it.
   */
  bytes?: number;
  /**
   * Tables (`schema.table`) whose initial snapshot this batch completes. The
   * pipeline records them (with the batch, in its state store) and passes
   * them back to the source on restart, so a finished snapshot is not taken
   * again. Absent when the batch completes none.
   */
  completedSnapshots?: string[];
  /**
   * The table (`schema.table`, as in `completedSnapshots`) whose initial
   * snapshot rows this batch carries; absent for streamed batches. The
   * pipeline counts them as snapshot progress once they are durable.
   */
  snapshotTable?: string;
  /**
   * Messages the source read but could not turn into events (invalid JSON, an
   * unknown envelope, a table no mapping covers). The pipeline parks them in
   * the dead-letter store in the batch's own transaction, so they are parked
   * exactly when the batch's position is acknowledged — once, and never lost.
   */
  undecodable?: UndecodableMessage[];
}

/** A message parked as it arrived (Kafka source): raw bytes and where they came from. */
export interface UndecodableMessage {
  /** The source's own position of the message (e.g. the Kafka position). */
  position: Position;
  /** Stable error code (`EVENT_UNDECODABLE`, `TABLE_UNMAPPED`). */
  errorCode: string;
  error: string;
  /** Table the message was about, when that much could be read. */
  table: string | null;
  /** What is stored: e.g. `{topic, partition, offset, key, value}` with key and value base64. */
  raw: Record<string, string | number | null>;
}

/** Numbers a source can report for metrics and `tandem status`. */
export interface SourceStats {
  /** Bytes of WAL (or log) the source retains for tandem, when known. */
  retainedBytes: number | null;
  /** Messages not yet consumed (Kafka consumer-group lag over the owned partitions), when known. */
  lagMessages?: number | null;
}

export interface ChangeSource {
  readonly system: string;
  /**
   * Present when the source reads ahead on its own and builds its batches
   * while the pipeline is busy (natural batching): the pipeline then pulls a
   * batch only when it is ready to resolve it, so the batch holds everything
   * that arrived meanwhile and nothing waits in a queue of sealed batches.
   * `ready()`: batches it could hand on now (0: caught up).
   */
  readonly readAhead?: { ready(): number };
  /** Start (creating slot/publication, snapshotting as needed) and stream batches until `stop()`. */
  batches(): AsyncIterable<ChangeBatch>;
  /**
   * The effects of everything up to `position` are durable in the state
   * store: the source may release it (flush the slot, commit the offset).
   */
  acknowledge(position: Position): Promise<void>;
  stats(): Promise<SourceStats>;
  /** Ends the `batches()` iteration after the current batch. */
  stop(): Promise<void>;
}

/** A table an initial snapshot is about to read, with its row count as the database's statistics estimate it. */
export interface SnapshotPlanEntry {
  /** `schema.table`, as the source names it in `completedSnapshots`. */
  table: string;
  /** pg_class.reltuples, information_schema TABLES.TABLE_ROWS or sys.partitions; null when the statistics do not know. */
  estimatedRows: number | null;
}

/** Told the tables of a snapshot before the first row is read (for progress and ETA). */
export type SnapshotPlanned = (tables: SnapshotPlanEntry[]) => void;
