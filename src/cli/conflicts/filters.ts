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

/**
 * Two values as a table shows them side by side, each within `max`
 * characters, shortened so that they still differ on screen: where the texts
 * part within the first half, each keeps its head and tail (`"Acme Dist…GmbH"`);
 * past it, each shows the stretch around the first difference
 * (`…Distribution Ltd"` against `…Distribution Limited"`). Equal texts
 * shorten alike. Returned as compact JSON, like shortJson.
 */
export function shortPair(a: unknown, b: unknown, max = 32): [string, string] {
  const ta = jsonText(a);
  const tb = jsonText(b);
  const at = firstDifference(ta, tb);
  return [around(ta, at, max), around(tb, at, max)];
}

/** Context shown before the first difference, so a reader sees what the difference follows. */
const LEAD = 6;

function around(text: string, at: number, max: number): string {
  if (text.length <= max) return text;
  const head = Math.ceil((max - 1) / 2);
  if (at < head) return `${text.slice(0, head)}…${text.slice(text.length - (max - 1 - head))}`;
  const start = Math.min(at - LEAD, text.length - (max - 1));
  if (start + max - 1 >= text.length) return `…${text.slice(text.length - (max - 1))}`;
  return `…${text.slice(start, start + max - 2)}…`;
}

function firstDifference(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function jsonText(value: unknown): string {
  return value === undefined ? '-' : JSON.stringify(value);
}

/** `2025-03-01 12:00:00` (UTC): sortable and short enough for a table. */
export function shortTime(time: Date): string {
  return time.toISOString().slice(0, 19).replace('T', ' ');
}
