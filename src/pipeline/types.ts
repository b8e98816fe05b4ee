import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Knex } from 'knex';
import type { Registry } from 'prom-client';
import type { LoadedConfig } from '../config';
import type { Logger } from '../log';
import type { SnapshotTableProgress } from './snapshot-progress';
import type { ComponentHealth } from './health';

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
  /**
   * More pages on the metrics server (the console, src/console): built once
   * the pipeline runs, from what it shows of itself.
   */
  http?: (view: PipelineView) => HttpExtension | null;
}

/** What a running pipeline shows of itself to the console. */
export interface PipelineView {
  loaded: LoadedConfig;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  store: Knex;
  schema: string;
  /** The Prometheus registry `/metrics` serves. */
  registry: Registry;
  /** Captured systems and targets, in configuration order. */
  sources: readonly string[];
  targets: readonly string[];
  components(): ComponentHealth[];
  stats(): PipelineStats;
  /** Per captured system, the newest source position whose effects are durable. */
  positions(): Record<string, string>;
}

/** Requests the metrics server does not answer itself; `handle` says whether it answered. */
export interface HttpExtension {
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  close(): void;
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
  /** Where /metrics (and the console) are served, with the port really bound; null when not served. */
  httpAddress(): string | null;
}
