/**
 * Driver errors (pg, mysql2, tedious/mssql, knex pool) → ApplyError. The one question that
 * matters to the outbox worker is whether trying again can help: a lost
 * connection or a deadlock can, a constraint violation or a missing column
 * cannot and must go to the dead letters.
 */
import { ApplyError, isTransient, sqlServerErrorNumber, TandemError } from '../errors';

export interface ApplyWhere {
  system: string;
  table: string;
  entity: string;
  key: string;
  correlationId: string;
}

/** Driver errors are classified in one place, src/errors.ts; the apply side asks only this. */
export const isTransientDbError = isTransient;
export { sqlServerErrorNumber };

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

/** PostgreSQL foreign_key_violation, MySQL/MariaDB ER_ROW_IS_REFERENCED(_2), SQL Server 547 (a constraint conflict). */
const REFERENCED_CODES = new Set(['23503', 'ER_ROW_IS_REFERENCED', 'ER_ROW_IS_REFERENCED_2']);

/** Whether a delete failed because other rows still reference the row. */
export function isStillReferenced(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && REFERENCED_CODES.has(code)) return true;
  return sqlServerErrorNumber(error) === 547;
}
