/**
 * Pairs two systems' rows of one key range by local key (pure). Used where
 * both systems key an entity the same way (see `pushdown.ts`): rows are
 * matched by key equality rather than by walking both sides in order, so
 * the two databases need not sort keys alike (collations differ).
 */
import type { Fields } from '../transform';
import { equivalent } from './classify';

export interface KeyedRow {
  localKey: string;
  fields: Fields;
}

export interface RowPair {
  localKey: string;
  a: KeyedRow | null;
  b: KeyedRow | null;
}

/** Every key of either side once, with its row on each side (null where absent), in `a`'s order then `b`'s. */
export function pairByKey(a: readonly KeyedRow[], b: readonly KeyedRow[]): RowPair[] {
  const fromB = new Map(b.map((row) => [row.localKey, row]));
  const pairs: RowPair[] = [];
  for (const row of a) {
    pairs.push({ localKey: row.localKey, a: row, b: fromB.get(row.localKey) ?? null });
    fromB.delete(row.localKey);
  }
  for (const row of fromB.values()) pairs.push({ localKey: row.localKey, a: null, b: row });
  return pairs;
}

/** Whether a pair disagrees on any of `fields` (or one side lacks the row). */
export function pairDiffers(pair: RowPair, fields: readonly string[]): boolean {
  if (!pair.a || !pair.b) return true;
  return fields.some((f) => !equivalent(pair.a!.fields[f] ?? null, pair.b!.fields[f] ?? null));
}
