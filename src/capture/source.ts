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
   * Tables (`schema.table`) whose initial snapshot this batch completes. The
   * pipeline records them (with the batch, in its state store) and passes
   * them back to the source on restart, so a finished snapshot is not taken
   * again. Absent when the batch completes none.
   */
  completedSnapshots?: string[];
}

/** Numbers a source can report for metrics and `tandem status`. */
export interface SourceStats {
  /** Bytes of WAL (or log) the source retains for tandem, when known. */
  retainedBytes: number | null;
}

export interface ChangeSource {
  readonly system: string;
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
