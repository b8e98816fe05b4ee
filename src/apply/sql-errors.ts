/**
 * Driver errors (pg, mysql2, tedious/mssql, knex pool) → ApplyError. The one question that
 * matters to the outbox worker is whether trying again can help: a lost
 * connection or a deadlock can, a constraint violation or a missing column
 * cannot and must go to the dead letters.
 */
import { ApplyError, TandemError } from '../errors';

export interface ApplyWhere {
  system: string;
  table: string;
  entity: string;
  key: string;
  correlationId: string;
}

/** Node socket errors and mysql2 protocol errors. */
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
 * serialization failure and deadlock, lock not available.
 */
function pgTransient(state: string): boolean {
  return /^(08|53|57|58)/.test(state) || state === '40001' || state === '40P01' || state === '55P03';
}

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

/** Messages of errors that carry no code (pg closes the socket; knex pool times out). */
const TRANSIENT_MESSAGE = /Connection terminated|terminating connection|Knex: Timeout acquiring a connection|connect ETIMEDOUT|socket hang up/i;

export function isTransientDbError(error: unknown): boolean {
  if (error instanceof AggregateError && error.errors.some(isTransientDbError)) return true;
  const e = error as { code?: unknown; errno?: unknown; name?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && (TRANSIENT_CODES.has(e.code) || (/^[0-9A-Z]{5}$/.test(e.code) && pgTransient(e.code)))) return true;
  if (typeof e.errno === 'number' && TRANSIENT_ERRNOS.has(e.errno)) return true;
  if (e.name === 'KnexTimeoutError') return true;
  if (typeof e.code === 'string' && SQLSERVER_TRANSIENT_CODES.has(e.code)) return true;
  const number = sqlServerErrorNumber(error);
  if (number !== undefined && SQLSERVER_TRANSIENT_NUMBERS.has(number)) return true;
  return typeof e.message === 'string' && TRANSIENT_MESSAGE.test(e.message);
}

/** Wraps a failure of one apply; tandem's own errors pass through untouched. */
export function toApplyError(error: unknown, where: ApplyWhere): TandemError {
  if (error instanceof TandemError) return error;
  const retriable = isTransientDbError(error);
  const code = driverCode(error);
  const message =
    `${where.system}: applying ${where.entity} ${where.key} to ${where.table} failed` +
    ` [${where.correlationId}]: ${driverMessage(error)}${code ? ` (${code})` : ''}`;
  return new ApplyError(message, { ...where, retriable }, { cause: error });
}

function driverCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function driverMessage(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(driverMessage).join('; ');
  if (error instanceof Error) return error.message;
  return String(error);
}
