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
