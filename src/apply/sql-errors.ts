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
