/** Options of the native SQL Server source (see `sqlserverCapture` in src/config/spec.ts). */
import type { Position } from '../change-event';
import type { LogFn } from '../shared';
import type { CdcConnection } from './queries';
import type { SnapshotPlanned } from '../source';

export type { LogFn } from '../shared';

export interface SqlServerSourceOptions {
  /** Configured system name, e.g. `erp`. */
  system: string;
  /** mssql connection string (`Server=…;Database=…` or `mssql://user:pass@host:port/db`), a user that may read the cdc schema. */
  connectionString: string;
  /** Qualified `schema.table` names to capture. */
  tables: string[];
  /**
   * Mapped columns per table (`schema.table` → columns): each must be in the
   * table's capture instance, or the source refuses to start.
   */
  columns?: Record<string, string[]>;
  /** `schema.table` → capture instance; default `<schema>_<table>`. */
  captureInstances: Record<string, string>;
  pollIntervalMs: number;
  snapshot: 'initial' | 'never';
  /** Batches end on transaction boundaries: a larger transaction makes one larger batch. */
  maxBatchEvents: number;
  /** Where to resume: the pipeline's checkpoint (null or absent on first start). */
  startPosition?: Position | null;
  /** Tables whose snapshot is already done (from the pipeline's state store). */
  snapshotted: ReadonlySet<string>;
  log?: LogFn;
  /** Hears the tables of each snapshot, with estimated row counts, before their rows are read. */
  onSnapshotPlanned?: SnapshotPlanned;
  /** Opens the connection; default: an mssql pool on `connectionString`. Tests replay hand-written result sets through it (test/capture/sqlserver/recorded/, not recorded from a server). */
  connect?: () => Promise<CdcConnection>;
}
