import type { ChangeEvent, Row, Value } from '../capture';
import type { CanonicalChange, Fields } from './canonical';

/** One compiled field ⇄ column pair. */
export interface FieldBinding {
  field: string;
  column: string;
  /** Entity whose key this column holds, for reference fields. */
  ref: string | null;
  readOnly: boolean;
  /** Source value → canonical value. Throws ConversionError. */
  toCanonical(value: Value): Value;
  /** Canonical value → source value. Throws ConversionError. */
  fromCanonical(value: Value): Value;
}

/** A compiled mapping of one table of one system to one entity. */
export interface Mapping {
  system: string;
  /** `schema.table`. */
  table: string;
  schema: string;
  tableName: string;
  entity: string;
  keyColumns: string[];
  /** `allocated`: tandem asks the system for the key before inserting (see `keyAllocator`). */
  keyGenerated: 'none' | 'uuid' | 'database' | 'allocated';
  /** How an `allocated` key is obtained; null for the other kinds. */
  keyAllocator: KeyAllocator | null;
  /**
   * The canonical field bound to the (single) key column, if any: a key the
   * system assigns flows back through it to the other systems.
   */
  keyField: string | null;
  /** Columns tandem writes an exception's state to, in rows of this table; null when not configured. */
  exceptionColumns: ExceptionColumns | null;
  fields: FieldBinding[];
  onTruncate: 'ignore' | 'dead-letter';
  /** Source change → canonical change (`key` null, refs unresolved). Throws DecodeError/ConversionError. */
  toCanonical(event: ChangeEvent): CanonicalChange;
  /**
   * Canonical values → columns of this table, for the fields given. Reference
   * fields must already hold the target's local keys (see `refs`).
   */
  toRow(fields: Fields): Row;
  /** The local key text of a source row (see `localKeyText`). */
  localKeyOf(row: Row): string;
  /** Key columns of a local key text, inverse of `localKeyOf`. */
  keyRow(localKey: string): Row;
}

/** A key allocated from the system before an insert: a sequence's next value, or a query's first column. */
export type KeyAllocator = ({ sequence: string } | { sql: string }) & {
  /** `C{00000}`: prefix, zero-padded width and suffix; null: the value as is. */
  format: string | null;
};

export interface ExceptionColumns {
  status: string;
  error: string;
  rejectedValue: string;
  resolvedValue: string | null;
}
