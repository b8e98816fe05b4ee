/**
 * tandem's one error hierarchy. Every error has a stable `code`, says whether
 * trying again can help (`retriable`, read by `retry.ts`), and carries the
 * context an operator needs to find the change it is about.
 */

export interface ErrorContext {
  system?: string;
  table?: string;
  entity?: string;
  key?: string;
  position?: string;
  correlationId?: string;
  /** Config file, or other file the error is about. */
  file?: string;
  /** Path inside that file, e.g. `mappings[2].fields.email`. */
  path?: string;
}

export class TandemError extends Error {
  readonly code: string = 'TANDEM_ERROR';
  readonly retriable: boolean = false;
  readonly context: ErrorContext;

  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.context = context;
  }

  /** The message with its context, for logs and the dead-letter store. */
  describe(): string {
    const where = Object.entries(this.context)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return where ? `${this.message} (${where})` : this.message;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, retriable: this.retriable, message: this.message, context: this.context };
  }
}

/** The configuration or a mapping is wrong. Exit code 2. */
export class ConfigError extends TandemError {
  override readonly code: string = 'CONFIG_INVALID';
}

/** A command was given something it cannot act on (an unknown id, a bad option value). Exit code 2. */
export class UsageError extends TandemError {
  override readonly code: string = 'USAGE';
}

/** An event that cannot be decoded or mapped. Parked, never retried. */
export class DecodeError extends TandemError {
  override readonly code: string = 'EVENT_UNDECODABLE';
}

/** A table that no mapping covers. */
export class UnknownTableError extends TandemError {
  override readonly code: string = 'TABLE_UNMAPPED';
}

/** A value a converter cannot turn into the other side's form. */
export class ConversionError extends TandemError {
  override readonly code: string = 'VALUE_UNCONVERTIBLE';
}

/**
 * A source (replication stream, consumer) failed. Reconnecting helps unless
 * the source cannot work as configured (binary log off, changes purged, a
 * capture instance missing): those are thrown with `retriable: false`, and a
 * wrapped driver error is as retriable as `classifyFailure` says its cause is.
 */
export class CaptureError extends TandemError {
  override readonly code: string;
  override readonly retriable: boolean;

  constructor(message: string, context: ErrorContext = {}, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, context, options.cause === undefined ? undefined : { cause: options.cause });
    this.retriable = options.retriable ?? (options.cause === undefined || classifyFailure(options.cause) !== 'permanent');
    this.code = this.retriable ? 'CAPTURE_FAILED' : 'CAPTURE_UNUSABLE';
  }
}

/**
 * A value to write back to the system a change came from, when the target
 * rejected part of it (a rejected order line: `sync_status`, `sync_error`).
 */
export interface ExceptionWriteBack {
  entity: string;
  /** Canonical record key. */
  key: string;
  /** Canonical fields to set in the originating system. */
  fields: Record<string, string | null>;
}

export interface ApplyErrorExtras {
  retriable: boolean;
  code?: string;
  /** Retry no sooner than this (a target's `Retry-After`, an open circuit); the apply stage uses it as the delay. */
  retryAfterMs?: number;
  /** What was sent and answered (request, status, response body): kept in the dead letter. Never secrets. */
  details?: unknown;
  /** A rejection to record in the originating system (see ExceptionWriteBack). */
  writeBack?: ExceptionWriteBack;
}

/** A target refused or failed a write. `retriable` says which kind. */
export class ApplyError extends TandemError {
  override readonly code: string;
  override readonly retriable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: unknown;
  readonly writeBack: ExceptionWriteBack | undefined;

  constructor(message: string, context: ErrorContext & ApplyErrorExtras, options?: { cause?: unknown }) {
    const { retriable, code, retryAfterMs, details, writeBack, ...rest } = context;
    super(message, rest, options);
    this.retriable = retriable;
    this.code = code ?? (retriable ? 'APPLY_TRANSIENT' : 'APPLY_REJECTED');
    this.retryAfterMs = retryAfterMs;
    this.details = details;
    this.writeBack = writeBack;
  }

  override toJSON(): Record<string, unknown> {
    const json = super.toJSON();
    if (this.details !== undefined) json['details'] = this.details;
    if (this.writeBack !== undefined) json['writeBack'] = this.writeBack;
    return json;
  }
}

/** A referenced record (order header for a line) is not in the target yet. */
export class DependencyPendingError extends TandemError {
  override readonly code: string = 'DEPENDENCY_PENDING';
  override readonly retriable: boolean = true;
}

/** The state store is unreachable or a transaction failed. */
export class StateStoreError extends TandemError {
  override readonly code: string = 'STATE_STORE_FAILED';
  override readonly retriable: boolean = true;
}

/** Another writer created a record between a batch's read and its write: the batch is resolved again. */
export class RecordRaceError extends StateStoreError {
  override readonly code: string = 'RECORD_RACE';
}

/** `tandem compare` cannot read a system's table (it is missing, unreadable, or lacks a mapped column). */
export class CompareError extends TandemError {
  override readonly code: string = 'COMPARE_FAILED';
}

/** The conflict log's hash chain does not verify. */
export class ChainBrokenError extends TandemError {
  override readonly code: string = 'CONFLICT_LOG_TAMPERED';
}

/** A sink for signed conflict-log checkpoints (file, webhook) failed; the checkpoint stays in the state store and is sent again. */
export class AuditSinkError extends TandemError {
  override readonly code: string = 'AUDIT_SINK_FAILED';
  override readonly retriable: boolean = true;
}

/**
 * The one classification of failures every stage uses:
 * - `transient`: trying again can help (a lost connection, a deadlock, a server restarting, Redis away);
 * - `permanent`: it cannot, until a person changes something (missing table, no privilege, binary log off);
 * - `config`: tandem's own configuration is wrong;
 * - `unknown`: nothing says which; stages retry a bounded number of times, then treat it as permanent.
 */
export type FailureKind = 'transient' | 'permanent' | 'config' | 'unknown';

export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof ConfigError || error instanceof UsageError) return 'config';
  if (error instanceof TandemError) return error.retriable ? 'transient' : 'permanent';
  if (isTransient(error)) return 'transient';
  if (isPermanentDriverError(error)) return 'permanent';
  return 'unknown';
}

/** Whether trying again can help: tandem's errors say so themselves; driver errors are classified. */
export function isRetriable(error: unknown): boolean {
  if (error instanceof TandemError) return error.retriable;
  return isTransient(error);
}

/** Node socket errors, mysql2 protocol and server errors, ioredis connection errors. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_DEADLOCK',
  'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED', 'ER_QUERY_INTERRUPTED',
]);

/** MySQL/MariaDB error numbers for the same, when `code` is not set. */
const TRANSIENT_ERRNOS = new Set([1040, 1053, 1205, 1213, 1317, 1927, 2002, 2003, 2006, 2013]);

/**
 * PostgreSQL SQLSTATEs: connection exceptions (08), insufficient resources
 * (53), operator intervention such as shutdown or statement timeout (57),
 * system errors (58), serialization failure and deadlock, lock not available.
 */
function pgTransient(state: string): boolean {
  return /^(08|53|57|58)/.test(state) || state === '40001' || state === '40P01' || state === '55P03';
}

/**
 * PostgreSQL SQLSTATEs that no retry fixes: invalid authorisation (28),
 * syntax or access rule violations such as an undefined table or a missing
 * privilege (42), object not in prerequisite state such as wal_level (55),
 * except lock-not-available (55P03, transient above).
 */
function pgPermanent(state: string): boolean {
  return /^(28|42|55)/.test(state) && state !== '55P03';
}

/** MySQL/MariaDB: access denied, unknown table/column/database, binlog purged or unreadable. */
const PERMANENT_ERRNOS = new Set([1044, 1045, 1049, 1054, 1142, 1146, 1227, 1236]);

/**
 * SQL Server error numbers (tedious `number`, on the error or its
 * `originalError`): deadlock victim 1205, lock timeout 1222, timeout -2,
 * database/server unavailable or failing over (4060, 40197, 40501, 40613,
 * 49918–49920, 10928, 10929), transport (233, 10053, 10054, 10060, 64).
 * Constraint violations (2627, 2601, 547) and everything else are not.
 */
const SQLSERVER_TRANSIENT_NUMBERS = new Set([1205, 1222, -2, 4060, 40197, 40501, 40613, 49918, 49919, 49920, 10928, 10929, 233, 10053, 10054, 10060, 64]);

/** tedious/mssql error codes of lost connections and timeouts. */
const SQLSERVER_TRANSIENT_CODES = new Set(['ESOCKET', 'ECONNCLOSED', 'ETIMEOUT', 'ENOTOPEN']);

/** A SQL Server error number, wherever tedious, mssql or knex put it. */
export function sqlServerErrorNumber(error: unknown): number | undefined {
  const e = error as { number?: unknown; info?: { number?: unknown }; originalError?: { number?: unknown; info?: { number?: unknown } } } | null;
  if (!e || typeof e !== 'object') return undefined;
  for (const n of [e.number, e.info?.number, e.originalError?.number, e.originalError?.info?.number]) if (typeof n === 'number') return n;
  return undefined;
}

/**
 * Messages of errors that carry no code: pg closes the socket; the knex pool
 * times out; ioredis gives up on a command while Redis is away.
 */
const TRANSIENT_MESSAGE =
  /Connection terminated|terminating connection|Knex: Timeout acquiring a connection|connect ETIMEDOUT|socket hang up|Connection is closed|Stream isn't writeable|max retries per request|Reached the max retries/i;

/** Whether a driver, socket or client error is one that trying again can fix. */
export function isTransient(error: unknown): boolean {
  if (error instanceof AggregateError && error.errors.some(isTransient)) return true;
  const e = error as { code?: unknown; errno?: unknown; name?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && (TRANSIENT_CODES.has(e.code) || (/^[0-9A-Z]{5}$/.test(e.code) && pgTransient(e.code)))) return true;
  if (typeof e.errno === 'number' && TRANSIENT_ERRNOS.has(e.errno)) return true;
  if (e.name === 'KnexTimeoutError' || e.name === 'MaxRetriesPerRequestError') return true;
  if (typeof e.code === 'string' && SQLSERVER_TRANSIENT_CODES.has(e.code)) return true;
  const number = sqlServerErrorNumber(error);
  if (number !== undefined && SQLSERVER_TRANSIENT_NUMBERS.has(number)) return true;
  return typeof e.message === 'string' && TRANSIENT_MESSAGE.test(e.message);
}

/** Connection-level codes: the other side is not there (as opposed to a row-level deadlock or lock wait). */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND',
  'PROTOCOL_CONNECTION_LOST', 'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR', 'ER_CONNECTION_KILLED', 'ESOCKET', 'ECONNCLOSED',
  // tandem's REST target: network failure, circuit open, 503
  'REST_NETWORK', 'REST_CIRCUIT_OPEN', 'REST_UNAVAILABLE',
]);

/**
 * Whether a failure means the system at the other end cannot be reached at
 * all (down, restarting, refusing connections), looking through wrapped
 * causes. An apply stage treats that as an outage of the target — it holds
 * the task and tries again — rather than as a failure of the task.
 */
export function isUnreachable(error: unknown, depth = 0): boolean {
  if (depth > 5 || !error || typeof error !== 'object') return false;
  if (error instanceof AggregateError && error.errors.some((e) => isUnreachable(e, depth + 1))) return true;
  const e = error as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && (UNREACHABLE_CODES.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code) || /^57P0[123]$/.test(e.code) || e.code === '53300')) return true;
  if (e.name === 'KnexTimeoutError') return true;
  if (typeof e.message === 'string' && /Connection terminated|terminating connection|Timeout acquiring a connection|connect ECONNREFUSED/i.test(e.message)) return true;
  return isUnreachable(e.cause, depth + 1);
}

function isPermanentDriverError(error: unknown): boolean {
  const e = error as { code?: unknown; errno?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && pgPermanent(e.code)) return true;
  return typeof e.errno === 'number' && PERMANENT_ERRNOS.has(e.errno);
}

export function errorMessage(error: unknown): string {
  if (error instanceof TandemError) return error.describe();
  if (error instanceof Error) return error.message;
  return String(error);
}
