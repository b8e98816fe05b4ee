/**
 * Which fields of a task a target's refusal is about, as far as the error
 * tells: a column it names (PostgreSQL's `column`, MySQL/MariaDB's "column
 * 'x'" messages), or the values too long for a `varchar(n)` PostgreSQL names
 * only by type. Otherwise every field the task wrote.
 */
import type { Fields, Mapping } from '../transform';

export function rejectedFields(error: unknown, mapping: Mapping | undefined, fields: Fields): string[] {
  const written = Object.keys(fields);
  if (!mapping) return written;
  const cause = driverError(error);
  const byColumn = (column: string) => mapping.fields.find((b) => b.column === column)?.field;
  const named = typeof cause.column === 'string' ? cause.column : /column '([^']+)'/i.exec(cause.message ?? '')?.[1];
  if (named) {
    const field = byColumn(named);
    if (field) return [field];
  }
  const tooLong = /value too long for type character(?: varying)?\((\d+)\)/i.exec(cause.message ?? '');
  if (tooLong) {
    const limit = Number(tooLong[1]);
    const long = written.filter((f) => typeof fields[f] === 'string' && (fields[f] as string).length > limit);
    if (long.length > 0) return long;
  }
  return written;
}

function driverError(error: unknown): { column?: unknown; message?: string } {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const e = current as { column?: unknown; message?: unknown; code?: unknown; cause?: unknown };
    if (typeof e.code === 'string' && e.code !== 'APPLY_REJECTED' && e.code !== 'APPLY_TRANSIENT') return { column: e.column, message: typeof e.message === 'string' ? e.message : undefined };
    if (!e.cause) return { column: e.column, message: typeof e.message === 'string' ? e.message : undefined };
    current = e.cause;
  }
  return {};
}
