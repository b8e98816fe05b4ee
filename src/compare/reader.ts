import type { Row } from '../capture';
import type { Mapping } from '../transform';

/** Raw key-column values of a row, as the database gives them back: the keyset cursor. */
export type KeyCursor = unknown[];

export interface Page {
  rows: Row[];
  /** Where the next page starts (exclusive); null after the last page. */
  next: KeyCursor | null;
}

/**
 * Reads one system's mapped table for compare, with the value forms capture
 * produces (so the mapping's converters see what they see in the stream).
 * Every read is bounded: pages in key order (keyset pagination, an index
 * range scan each) and lookups of a batch of keys.
 */
export interface TableReader {
  readonly system: string;
  readonly mapping: Mapping;
  /** Rows after `after` in key order, at most `limit`. */
  page(after: KeyCursor | null, limit: number): Promise<Page>;
  /** The rows of the given local keys (see `localKeyText`); keys without a row are absent. */
  byLocalKeys(localKeys: readonly string[]): Promise<Map<string, Row>>;
  close(): Promise<void>;
}

/** Local keys fetched per query: well under every database's bind-parameter limit. */
export const LOOKUP_BATCH = 5_000;

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
