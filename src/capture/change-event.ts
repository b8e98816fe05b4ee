/**
 * The one change-event type every source emits. It follows the Debezium
 * envelope (`op`, `before`, `after`, `source`) so that native capture and
 * Debezium-over-Kafka feed the same pipeline.
 */

/** A decoded column value. Exact numbers (numeric, int8) are decimal strings. */
export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };

/** Column name → decoded value. */
export type Row = Record<string, Value>;

/** c create, u update, d delete, r snapshot read, t truncate. */
export type Op = 'c' | 'u' | 'd' | 'r' | 't';

/**
 * Debezium's `source.snapshot`: a string enum in current versions, a boolean
 * in older ones (normalised here: true → 'true', false/absent → 'false').
 */
export type SnapshotMarker =
  | 'true'
  | 'first'
  | 'first_in_data_collection'
  | 'last_in_data_collection'
  | 'last'
  | 'false'
  | 'incremental';

/**
 * A position in one source's stream, totally ordered within that source.
 * Encoded so that plain string comparison gives the order (see `comparePositions`).
 * PostgreSQL: `<commit LSN, 16 hex>:<index in transaction, 8 hex>`.
 */
export type Position = string;

export interface SourceInfo {
  /** Configured system name, e.g. `erp`. */
  system: string;
  /** What captured it: Debezium's connector name (`postgresql`, `mysql`, `sqlserver`), which native capture uses too. */
  connector: string;
  database: string;
  schema: string | null;
  table: string;
  position: Position;
  /** Source transaction id, as text. */
  txId: string | null;
  /** Commit time of the source transaction, ms since epoch. */
  commitTimeMs: number;
  /**
   * How coarse `commitTimeMs` is: the true commit time lies in
   * [commitTimeMs, commitTimeMs + commitTimePrecisionMs). Absent: 1 (whole
   * milliseconds, as PostgreSQL's microseconds are carried). The MySQL/MariaDB
   * binlog stamps events with whole seconds: 1000. `latest-wins` treats two
   * commit times whose windows overlap as a tie (decided by `priority`).
   */
  commitTimePrecisionMs?: number;
  snapshot: SnapshotMarker;
  /**
   * Replication origin or writer tag, when the source tells it. tandem's own
   * writes carry tandem's origin, which is how echoes are recognised.
   */
  origin: string | null;
}

export interface ChangeEvent {
  op: Op;
  /** Row before the change; key columns only under REPLICA IDENTITY DEFAULT. */
  before: Row | null;
  /** Row after the change; null for deletes and truncates. */
  after: Row | null;
  /**
   * Columns of `after` the source did not send (unchanged TOAST values, or
   * Debezium's `__debezium_unavailable_value`). They are absent from `after`,
   * never null: the current value stands.
   */
  unavailable: string[];
  /** Names of the primary-key (replica identity) columns. */
  keyColumns: string[];
  source: SourceInfo;
  /** When the source handed the event to tandem, ms since epoch. */
  tsMs: number;
  /** `<system>@<position>`: carried by every log line and task this event causes. */
  correlationId: string;
}

export function comparePositions(a: Position, b: Position): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function correlationIdOf(system: string, position: Position): string {
  return `${system}@${position}`;
}

/**
 * Identity of one row change, unique even when a multi-row statement gives
 * several rows one LSN: position (which includes the index within the
 * transaction), table and key.
 */
export function eventIdOf(event: ChangeEvent): string {
  const row = event.after ?? event.before ?? {};
  const key = event.keyColumns.map((c) => JSON.stringify(row[c] ?? null)).join(',');
  const { system, schema, table, position } = event.source;
  return `${system}:${position}:${schema ?? ''}.${table}:${key}`;
}
