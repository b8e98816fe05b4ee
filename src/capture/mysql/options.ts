/** Options of the native MySQL/MariaDB binlog source (see `mysqlCapture` in src/config/spec.ts). */
import type { Position } from '../change-event';
import type { LogFn } from '../shared';
import type { SnapshotPlanned } from '../source';

export type { LogFn, LogLevel } from '../shared';

export interface MysqlSourceOptions {
  /** Configured system name, e.g. `shop`. */
  system: string;
  /**
   * `mysql://user:pass@host:port/[database]`. The user needs REPLICATION SLAVE,
   * REPLICATION CLIENT (BINLOG MONITOR on MariaDB), SELECT on the mapped
   * tables, RELOAD for the MySQL snapshot fallback, and CREATE/INSERT/UPDATE
   * on `tandem_heartbeat` when heartbeats are on.
   */
  connectionString: string;
  /** Replica server id tandem registers with; unique among the server's replicas. */
  serverId: number;
  /**
   * Binlog events with this header server id are tandem's own writes (its
   * apply connections `SET SESSION server_id`, see `apply.echoServerId`):
   * their change events carry `origin`, so the pipeline drops the echoes.
   */
  echo?: { serverId: number; origin: string };
  /** `database.table` names to capture (the mapping's schema is the MySQL database). */
  tables: string[];
  /** Heartbeat interval (a row written to `tandem_heartbeat`); 0 disables heartbeats. */
  heartbeatMs: number;
  snapshot: 'initial' | 'never';
  maxBatchEvents: number;
  /**
   * Estimated bytes of changes the source holds for the pipeline (the batch
   * being built and those queued); it pauses the binlog stream at this.
   * Default DEFAULT_CAPTURE_BUFFER_BYTES (`pipeline.captureBufferBytes`).
   */
  captureBufferBytes?: number;
  /** Tables whose snapshot is already done (from the pipeline's state store). */
  snapshotted: ReadonlySet<string>;
  /** Hears the tables of each snapshot, with estimated row counts, before their rows are read. */
  onSnapshotPlanned?: SnapshotPlanned;
  /**
   * The position the pipeline last made durable (its checkpoint), from which
   * the stream resumes. Absent on the first start.
   */
  startPosition?: Position | null;
  /** Database for `tandem_heartbeat`; default: the URL's database, else the first mapped table's. */
  heartbeatDatabase?: string;
  log?: LogFn;
}
