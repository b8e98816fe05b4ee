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

/** A source (replication stream, consumer) failed; reconnecting may help. */
export class CaptureError extends TandemError {
  override readonly code: string = 'CAPTURE_FAILED';
  override readonly retriable: boolean = true;
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

/** `tandem compare` cannot read a system's table (it is missing, unreadable, or lacks a mapped column). */
export class CompareError extends TandemError {
  override readonly code: string = 'COMPARE_FAILED';
}

/** The conflict log's hash chain does not verify. */
export class ChainBrokenError extends TandemError {
  override readonly code: string = 'CONFLICT_LOG_TAMPERED';
}

export function isRetriable(error: unknown): boolean {
  if (error instanceof TandemError) return error.retriable;
  return isTransientNetworkError(error);
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH',
  // PostgreSQL: serialization failure, deadlock, admin shutdown, cannot connect now, too many connections
  '40001', '40P01', '57P01', '57P03', '53300',
  // MySQL/MariaDB: lock wait timeout, deadlock, gone away, lost connection
  'ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_DEADLOCK', 'PROTOCOL_CONNECTION_LOST',
]);

function isTransientNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

export function errorMessage(error: unknown): string {
  if (error instanceof TandemError) return error.describe();
  if (error instanceof Error) return error.message;
  return String(error);
}
