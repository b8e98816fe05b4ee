/** Options of the native PostgreSQL source (see `postgresCapture` in src/config/spec.ts). */
import type { SnapshotPlanned } from '../source';

import type { LogFn } from '../shared';

export type { LogFn, LogLevel } from '../shared';

export interface PostgresSourceOptions {
  /** Configured system name, e.g. `erp`. */
  system: string;
  /** A user with the REPLICATION attribute (or superuser) that may create publications. */
  connectionString: string;
  slot: string;
  publication: string;
  /** Qualified `schema.table` names to capture (`table` alone means `public.table`). */
  tables: string[];
  /** Heartbeat interval; 0 disables heartbeats. */
  heartbeatMs: number;
  /** Standby status updates at least this often (keep well below wal_sender_timeout). */
  statusIntervalMs: number;
  snapshot: 'initial' | 'never';
  maxBatchEvents: number;
  /**
   * Estimated bytes of changes the source holds for the pipeline (the batch
   * being built and those queued); it stops reading the stream at this.
   * Default DEFAULT_CAPTURE_BUFFER_BYTES (`pipeline.captureBufferBytes`).
   */
  captureBufferBytes?: number;
  /** Tables whose snapshot is already done (from the pipeline's state store). */
  snapshotted: ReadonlySet<string>;
  log?: LogFn;
  /** Hears the tables of each snapshot, with estimated row counts, before their rows are read. */
  onSnapshotPlanned?: SnapshotPlanned;
}
