/**
 * A connector: everything tandem knows about one system type, in one object.
 * Runtime, config validation, `tandem status`, drain, preflight, compare and
 * the demo ask the registry for the connector of a system's `type` and use
 * what it offers; nothing outside src/connectors compares type strings.
 */
import type { Knex } from 'knex';
import type { z } from 'zod';
import type { ApplyTarget, SqlType } from '../apply';
import type { ChangeSource, LogFn, SnapshotPlanned } from '../capture';
import type { Problem, SystemConfig, TandemConfig } from '../config';
import type { settingsBlocks } from '../config/spec';
import type { TableReader } from '../compare';
import type { Logger } from '../log';
import type { MappedTable, PreflightFinding, SystemCatalog } from '../preflight';
import type { Checkpoint } from '../store';
import type { Mapping, MappingRegistry } from '../transform';

/** One configured system, as every connector hook gets it. */
export interface SystemContext {
  config: TandemConfig;
  /** Its name under `systems`. */
  system: string;
  spec: SystemConfig;
  env: NodeJS.ProcessEnv;
  /** The connection URL (a secret: read when asked for, never logged). */
  url: () => string;
}

export interface SourceContext extends SystemContext {
  registry: MappingRegistry;
  store: Knex;
  log: LogFn;
  /** Hears the tables of each initial snapshot with their estimated rows (snapshot progress); native sources pass it on. */
  onSnapshotPlanned?: SnapshotPlanned;
}

export interface TargetContext extends SystemContext {
  logger?: Logger;
}

export interface PreflightContext extends SystemContext {
  /** Per connection and per query. */
  timeoutMs: number;
  /** The system's mapped tables. */
  tables: MappedTable[];
}

export interface ConnectorPreflight {
  findings: PreflightFinding[];
  /** The mapped tables as the catalog describes them (SQL systems), for the mapping checks. */
  catalog?: SystemCatalog;
}

export interface StatusContext extends SystemContext {
  checkpoint: Checkpoint | undefined;
}

/** What `tandem status` shows of a captured source. */
export interface SourceStatus {
  /** Seconds since the commit time of the last change the pipeline made durable; null before the first. */
  lagSeconds: number | null;
  /** The log the source keeps for tandem (PostgreSQL: the slot's retained WAL) in bytes, or why there is no number. */
  retainedLog: number | string;
}

/** A problem with one system's settings; `path` is relative to `systems.<name>`. */
export interface SystemIssue {
  path: Array<string | number>;
  message: string;
}

/** The system entry as its schema parsed it, before the connector's own checks. */
export interface ParsedSystem {
  type: string;
  apply: { echoServerId?: number | undefined; origin: string };
  debezium?: { connector: string } | undefined;
}

/** How a database type's changes arrive through Debezium (topic names, source schemas). */
export interface DebeziumLayout {
  /** Values of `debezium.connector` that capture this type (Debezium's connector names). */
  connectors: readonly string[];
  /** Topics and tables are `<database>.<table>`: the database plays the schema's part (MySQL). */
  databaseIsSchema: boolean;
  /** Schema of a mapped table named without one. */
  defaultSchema: string;
}

/** This type's part of the one configuration spec (src/config/spec.ts composes it). */
export interface ConnectorConfig {
  /** `systems.<name>.capture` (native capture); absent: the type cannot be captured natively. */
  capture?: z.ZodTypeAny;
  /** The block of the system entry this type reads (`rest:`; one of the spec's `settingsBlocks`), if any; any other type refuses it. */
  settingsKey?: keyof typeof settingsBlocks;
  /** `apply.echoServerId` (a session server id for tandem's writes) means something for this type. */
  echoServerId?: boolean;
  /** Checks on one system entry beyond the schemas (capture as parsed by `capture`). */
  check?(system: ParsedSystem, capture: unknown): SystemIssue[];
  /** Checks that need the whole configuration (entities, mappings). */
  consistency?(config: TandemConfig, system: string): Problem[];
}

export interface Connector {
  /** The value of `systems.<name>.type`. */
  readonly type: string;
  /** For people: `PostgreSQL`, `REST`. */
  readonly label: string;
  readonly config: ConnectorConfig;
  /** The SQL dialect the apply and preflight code speak to it; null: not a SQL system. */
  readonly dialect: SqlType | null;
  /** Native capture: a factory of the system's change source; absent: not captured natively. */
  readonly source?: (ctx: SourceContext) => () => Promise<ChangeSource>;
  /** Capture through Debezium over Kafka (the transport in ./debezium); absent: not available. */
  readonly debezium?: DebeziumLayout;
  /** The apply target. */
  target(ctx: TargetContext): ApplyTarget;
  /** Read-only checks of the system before anything runs (`tandem check`, start of `tandem run`). */
  preflight(ctx: PreflightContext): Promise<ConnectorPreflight>;
  /** Lag and retained log of a captured source. */
  status(ctx: StatusContext): Promise<SourceStatus>;
  /**
   * Writes a heartbeat into a natively captured source's log and returns its
   * position: once it is durable, everything committed before is handled.
   * Absent (or null): drain relies on the outbox alone.
   */
  readonly drainMark?: (ctx: SystemContext) => Promise<string | null>;
  /** Where exceptions are POSTed when `apply.alertWebhook` is not set (REST: `rest.alertWebhook`). */
  readonly alertWebhook?: (ctx: SystemContext) => string | undefined;
  /** A reader of a mapped table for `tandem compare`; absent: compare skips the system. */
  readonly compareReader?: (system: string, mapping: Mapping, url: string) => Promise<TableReader>;
}
