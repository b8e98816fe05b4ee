import { userInfo } from 'node:os';
import { UsageError } from '../../errors';
import { eventOf, taskOf } from '../../pipeline';
import type { DeadLetterFilter, DeadLetterRow, DeadLetterStatus } from '../../store';
import { parseTime } from '../conflicts/filters';

export { eventOf, taskOf };

/** The filter options `list`, `retry` and `discard` share, as commander hands them over. */
export interface DlqFilterOptions {
  kind?: string;
  system?: string;
  status?: string;
  since?: string;
  code?: string;
}

const KINDS = ['event', 'task'] as const;
export const STATUSES = ['open', 'retried', 'discarded'] as const;

export function toLetterFilter(options: DlqFilterOptions, now: Date = new Date()): DeadLetterFilter {
  if (options.kind !== undefined && !(KINDS as readonly string[]).includes(options.kind)) throw new UsageError(`--kind must be one of ${KINDS.join(', ')}`);
  if (options.status !== undefined && !(STATUSES as readonly string[]).includes(options.status)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
  return {
    kind: options.kind as DeadLetterFilter['kind'],
    system: options.system,
    status: options.status as DeadLetterStatus | undefined,
    since: options.since === undefined ? undefined : parseTime(options.since, now),
    code: options.code,
  };
}

/** A dead-letter id: a positive whole number, optionally written `#12`. */
export function parseLetterId(text: string): string {
  const id = text.replace(/^#/, '');
  if (!/^[1-9]\d*$/.test(id)) throw new UsageError(`"${text}" is not a dead-letter id (a positive whole number)`);
  return id;
}

/** Which letters `retry` and `discard` act on: given ids, the open letters matching filters, or (retry) all open letters. */
export type Selection = { ids: string[] } | { filter: DeadLetterFilter };

export function toSelection(ids: string[], options: DlqFilterOptions & { all?: boolean }, allowAll: boolean): Selection {
  const filtered = options.kind !== undefined || options.system !== undefined || options.since !== undefined || options.code !== undefined;
  const ways = [ids.length > 0, filtered, options.all === true].filter(Boolean).length;
  const how = allowAll ? '<id>..., filters (--kind, --system, --code, --since) or --all' : '<id>... or filters (--kind, --system, --code, --since)';
  if (ways !== 1) throw new UsageError(`say which letters: exactly one of ${how}`);
  if (options.status !== undefined && options.status !== 'open') throw new UsageError('only open letters can be retried or discarded');
  if (ids.length > 0) return { ids: ids.map(parseLetterId) };
  return { filter: { ...(options.all ? {} : toLetterFilter(options)), status: 'open' } };
}

/** Who acts, for the record (default: the OS user). */
export function actor(by: string | undefined): string {
  return by ?? process.env.USER ?? userInfo().username;
}

/** `2h 5m`, `3d 4h`, `42s`: how long ago, for tables. */
export function age(since: Date, now = Date.now()): string {
  const s = Math.max(0, Math.floor((now - since.getTime()) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/** What a letter is about: the entity and key of a task, the source table of an event. */
export function subjectOf(letter: DeadLetterRow): string {
  const task = taskOf(letter);
  if (task) return `${String(task.entity)} ${String(task.key)}`;
  return letter.table ?? '-';
}
