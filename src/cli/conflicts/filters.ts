import { UsageError } from '../../errors';
import type { ConflictFilter } from '../../store';

/** The filter options `list`, `export` and `pending` share, as commander hands them over. */
export interface FilterOptions {
  since?: string;
  until?: string;
  entity?: string;
  key?: string;
  field?: string;
  system?: string;
  decision?: string;
}

export const DECISIONS = ['rejected', 'accepted', 'held', 'resolved', 'discarded', 'target-rejected', 'exception-resolved', 'repair', 'merged'] as const;

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** An ISO time, or a span back from now such as `90m`, `2h`, `7d`. */
export function parseTime(text: string, now: Date = new Date()): Date {
  const relative = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  if (relative) return new Date(now.getTime() - Number(relative[1]) * UNITS[relative[2]!]!);
  const time = Date.parse(text);
  if (Number.isNaN(time)) throw new UsageError(`"${text}" is neither an ISO time (2025-03-01T12:00:00Z) nor a span back from now (30m, 2h, 7d)`);
  return new Date(time);
}

export function toFilter(options: FilterOptions, now: Date = new Date()): ConflictFilter {
  if (options.decision !== undefined && !(DECISIONS as readonly string[]).includes(options.decision)) {
    throw new UsageError(`--decision must be one of ${DECISIONS.join(', ')}`);
  }
  return {
    since: options.since === undefined ? undefined : parseTime(options.since, now),
    until: options.until === undefined ? undefined : parseTime(options.until, now),
    entity: options.entity, key: options.key, field: options.field, system: options.system, decision: options.decision,
  };
}

/** A value as the tables show it: compact JSON, shortened past `max` characters. */
export function shortJson(value: unknown, max = 32): string {
  const text = value === undefined ? '-' : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `2025-03-01 12:00:00` (UTC): sortable and short enough for a table. */
export function shortTime(time: Date): string {
  return time.toISOString().slice(0, 19).replace('T', ' ');
}
