import type { Logger } from '../log';
import type { SnapshotTableProgress } from './snapshot-progress';

/** Figures the pipeline reports for the status line, `/metrics` and `tandem status`. */
export interface PipelineStats {
  /** Events counted at each stage since start. */
  events: { captured: number; mapped: number; resolved: number; skipped: number; deadLettered: number };
  /** `waiting`: retries of writes whose referenced record (an order line's header) was not in the target yet. */
  tasks: { applied: number; superseded: number; waiting: number; failed: number; deadLettered: number };
  /** Seconds between the newest source commit (or heartbeat) handled and now, per captured system. */
  lagSeconds: Record<string, number>;
  conflicts: number;
  /** Outbox tasks not yet done. */
  outboxDepth: number;
}

export interface PipelineOptions {
  logger?: Logger;
  /** Distinguishes instances sharing one state store (outbox leases). */
  instanceId?: string;
  env?: NodeJS.ProcessEnv;
  /** Serve /metrics, /healthz, /readyz (default true). */
  serveMetrics?: boolean;
}

export interface RunningPipeline {
  stats(): PipelineStats;
  /** This run's initial snapshots, per source and table (rows done, estimated, rate, ETA, state). */
  snapshotProgress(): SnapshotTableProgress[];
  /**
   * Resolves once every source has caught up with its database's current
   * WAL position and the outbox is empty (or only holds dead tasks).
   */
  drain(options?: { timeoutMs?: number }): Promise<void>;
  /** Stops capture, finishes in-flight work, acknowledges, closes connections. */
  stop(): Promise<void>;
  /** Rejects when the pipeline fails for good. */
  readonly done: Promise<void>;
}
