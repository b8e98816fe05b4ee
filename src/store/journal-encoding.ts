import { correlationIdOf } from '../capture/change-event';
import type { CanonicalChange } from '../transform';

/**
 * How a batch's changes are stored in `journal_batches` (migration 015):
 * what every change of the batch has in common (the entity and system, the
 * event's source table, connector, database, key columns, the raw rows left
 * out) is written once per batch in `common`, and each change keeps only the
 * rest (its key, values, position, commit time). The event's correlation id
 * is left out when it is the usual `<system>@<position>`. A batch's text
 * shrinks to about half, and with it the JSON built, sent, validated and
 * compressed per batch. Rows written before have no `common` and hold whole
 * changes: both are read.
 *
 * The levels merged are the change, its event and the event's source; the
 * `journal` view merges them the same way in SQL (`journal_change`).
 */
export interface StoredBatch {
  common: Level | null;
  changes: Level[];
}

type Level = Record<string, unknown>;

/** The raw source rows are not journalled: the resolver reads only canonical values and the event's metadata. */
const RAW_ROWS_DROPPED = { before: null, after: null, unavailable: [] } as const;

export function encodeBatch(changes: readonly CanonicalChange[]): StoredBatch {
  const full = changes as unknown as readonly Level[];
  const events = changes.map((c) => c.event as unknown as Level);
  const sources = changes.map((c) => c.event.source as unknown as Level);
  const common: Level = shared(full, ['event']);
  const commonEvent: Level = { ...shared(events, ['source', 'correlationId', 'before', 'after', 'unavailable']), ...RAW_ROWS_DROPPED };
  commonEvent.source = shared(sources, []);
  common.event = commonEvent;
  const stored = changes.map((change, i) => {
    const event = without(events[i]!, commonEvent, ['source']);
    const source = change.event.source;
    if (event.correlationId === correlationIdOf(source.system, source.position)) delete event.correlationId;
    event.source = without(sources[i]!, commonEvent.source as Level, []);
    const out = without(full[i]!, common, ['event']);
    out.event = event;
    return out;
  });
  return { common, changes: stored };
}

export function decodeChange(stored: Level, common: Level | null): CanonicalChange {
  if (common === null) return stored as unknown as CanonicalChange;
  const commonEvent = (common.event ?? {}) as Level;
  const storedEvent = (stored.event ?? {}) as Level;
  const source = { ...(commonEvent.source as Level | undefined), ...(storedEvent.source as Level | undefined) };
  const event: Level = { ...commonEvent, ...storedEvent, source };
  if (event.correlationId === undefined) event.correlationId = correlationIdOf(source.system as string, source.position as string);
  return { ...common, ...stored, event } as unknown as CanonicalChange;
}

/** The properties every item has, with equal values (`skip` aside). */
function shared(items: readonly Level[], skip: readonly string[]): Level {
  const out: Level = {};
  const [first, ...rest] = items;
  if (first === undefined) return out;
  for (const name of Object.keys(first)) {
    if (skip.includes(name)) continue;
    const value = first[name];
    if (rest.every((item) => Object.prototype.hasOwnProperty.call(item, name) && sameJson(item[name], value))) out[name] = value;
  }
  return out;
}

function without(item: Level, common: Level, skip: readonly string[]): Level {
  const out: Level = {};
  for (const name of Object.keys(item)) {
    if (skip.includes(name) || Object.prototype.hasOwnProperty.call(common, name)) continue;
    out[name] = item[name];
  }
  return out;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameJson((a as Level)[k], (b as Level)[k]));
}
