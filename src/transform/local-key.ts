import type { Row, Value } from '../capture';
import { DecodeError, type ErrorContext } from '../errors';

/**
 * The text form of a row's key that the crosswalk stores.
 *
 * One key column: the value as text (`String(value)`), so a key read as the
 * number 42 by one capture path and the decimal string '42' by another is the
 * same key. Composite keys: the JSON array of the values, in key-column order.
 * Going back (`keyRowOf`), a single-column key comes back as text whatever
 * the column's type: targets compare keys as text (SQL casts '42' to 42).
 */
export function localKeyText(values: readonly Value[]): string {
  if (values.length === 1) return String(values[0]);
  return JSON.stringify(values);
}

/** The key columns of `row` as local key text. Missing (or null) key columns are a DecodeError naming them. */
export function localKeyOfRow(keyColumns: readonly string[], row: Row, context: ErrorContext = {}): string {
  const missing = keyColumns.filter((c) => row[c] === undefined || row[c] === null);
  if (missing.length > 0) {
    throw new DecodeError(`key column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing from the row`, context);
  }
  return localKeyText(keyColumns.map((c) => row[c] as Value));
}

/** Inverse of `localKeyOfRow`: the key columns of a local key text. */
export function keyRowOf(keyColumns: readonly string[], localKey: string, context: ErrorContext = {}): Row {
  const [only] = keyColumns;
  if (keyColumns.length === 1 && only !== undefined) return { [only]: localKey };
  const values = parseComposite(localKey);
  if (!values || values.length !== keyColumns.length) {
    throw new DecodeError(`local key ${JSON.stringify(localKey)} is not a JSON array of ${keyColumns.length} values (${keyColumns.join(', ')})`, context);
  }
  return Object.fromEntries(keyColumns.map((c, i) => [c, values[i] as Value]));
}

function parseComposite(text: string): Value[] | null {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? (parsed as Value[]) : null;
  } catch {
    return null;
  }
}
