/**
 * Keys a target system assigns itself (an ERP customer number from a
 * sequence or a function), allocated by tandem before the insert.
 *
 * Exactly once, whatever crashes: the allocated key is stored for the record
 * (state store, `KeyAllocations`) before the row is inserted, and a retried
 * insert uses the stored key. A crash between asking the system and storing
 * the answer loses one number (a gap, as sequences have anyway), never gives
 * the record two rows.
 */
import type { Knex } from 'knex';
import type { KeyAllocator } from '../transform';
import { rawResult, type SqlType } from './sql-dialect';

/** Where allocated keys are kept, per target system, entity and canonical key. */
export interface KeyAllocations {
  get(system: string, entity: string, canonicalKey: string): Promise<string | null>;
  /** Stores `localKey` unless a key is stored already; returns the stored key. */
  put(system: string, entity: string, canonicalKey: string, localKey: string): Promise<string>;
}

/** Asks the target for a new key (outside any transaction: a rolled-back counter would hand the number out twice). */
export async function allocateKey(db: Knex, type: SqlType, allocator: KeyAllocator): Promise<string> {
  const result = rawResult(type, await db.raw(allocationSql(type, allocator), 'sequence' in allocator ? [allocator.sequence] : []));
  const row = result.rows[0];
  const value = row ? Object.values(row)[0] : undefined;
  if (value === undefined || value === null) throw new Error(`key allocation returned no value (${describeAllocator(allocator)})`);
  return formatKey(value, allocator.format);
}

function allocationSql(type: SqlType, allocator: KeyAllocator): string {
  if ('sql' in allocator) return allocator.sql;
  // The sequence name is a bound identifier (??) or, on PostgreSQL, a regclass literal: never spliced in.
  if (type === 'postgres') return 'SELECT nextval(?::regclass) AS v';
  return 'SELECT NEXT VALUE FOR ?? AS v';
}

export function describeAllocator(allocator: KeyAllocator): string {
  const source = 'sequence' in allocator ? `sequence ${allocator.sequence}` : `sql ${allocator.sql}`;
  return allocator.format ? `${source}, format ${allocator.format}` : source;
}

/**
 * `C{00000}` with 42 → `C00042`. A number wider than the zeros is written in
 * full (the column's length then decides). Without a format, the value as text.
 */
export function formatKey(value: unknown, format: string | null): string {
  const text = typeof value === 'bigint' ? value.toString() : String(value);
  if (format === null) return text;
  const match = /\{(0+)\}/.exec(format);
  if (!match) return text;
  const width = match[1]!.length;
  const digits = /^-/.test(text) ? `-${text.slice(1).padStart(width - 1, '0')}` : text.padStart(width, '0');
  return format.slice(0, match.index) + digits + format.slice(match.index + match[0].length);
}
