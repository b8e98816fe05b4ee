import type { Knex } from 'knex';
import { RecordRaceError } from '../errors';
import type { CanonicalRecord } from '../transform';
import { fromRow, toRow, type RecordRow } from './record-row';

export interface RecordKey {
  entity: string;
  key: string;
}

const keyOf = (r: RecordKey) => `${r.entity}\u0000${r.key}`;

/** What `fromRow` reads (not `updated_at`: parsing a timestamp per row for nothing). */
const COLUMNS = 'r.entity, r.key, r.fields, r.provenance, r.positions, r.shadows, r.deleted, r.version';

/**
 * The rows of the keys (`?` entities, `?` keys, `??` schema) that exist,
 * locked FOR UPDATE one key at a time in key order (the order every record
 * lock is taken in, against deadlocks). One primary-key probe per key, by
 * the query's shape: joined with the key list, the planner hashed the whole
 * table instead (a sequential scan per batch, measured 20 ms for 600 keys of
 * 6,000 records, 3 ms this way) whenever the batch was a tenth of it.
 */
const LOCKED_ROWS = `SELECT ${COLUMNS}
  FROM (SELECT * FROM unnest(?::text[], ?::text[]) AS u(entity, key) ORDER BY 1, 2) k,
  LATERAL (SELECT * FROM ??.records r WHERE r.entity = k.entity AND r.key = k.key FOR UPDATE) r`;

/**
 * Makes sure a row exists for every key and locks them all, in one sorted
 * order so two batches touching the same records never deadlock. Rows that
 * did not exist come back as version 0 (no record yet).
 */
export async function lockRecords(trx: Knex.Transaction, schema: string, keys: RecordKey[]): Promise<Map<string, CanonicalRecord>> {
  const unique = [...new Map(keys.map((k) => [keyOf(k), k])).values()].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
  const result = new Map<string, CanonicalRecord>();
  if (unique.length === 0) return result;
  const entities = unique.map((k) => k.entity);
  const recordKeys = unique.map((k) => k.key);
  await trx.raw(
    `INSERT INTO ??.records (entity, key) SELECT * FROM unnest(?::text[], ?::text[]) ORDER BY 1, 2 ON CONFLICT DO NOTHING`,
    [schema, entities, recordKeys],
  );
  const { rows } = await trx.raw(LOCKED_ROWS, [entities, recordKeys, schema]);
  for (const row of rows as RecordRow[]) result.set(keyOf(row), fromRow(row));
  return result;
}

/**
 * The hot path's read: locks the records that exist (in one sorted order, so
 * two batches touching the same records never deadlock) and returns an empty
 * version-0 record for each key that has none, without writing a placeholder
 * row for it. `writeRecords` then writes each touched record once.
 */
export async function readRecordsForUpdate(trx: Knex.Transaction, schema: string, keys: RecordKey[]): Promise<{ records: Map<string, CanonicalRecord>; existing: Set<string> }> {
  // No sort here: LOCKED_ROWS takes the locks in key order itself.
  const unique = [...new Map(keys.map((k) => [keyOf(k), k])).values()];
  const result = new Map<string, CanonicalRecord>();
  const existing = new Set<string>();
  if (unique.length === 0) return { records: result, existing };
  const { rows } = await trx.raw(LOCKED_ROWS, [unique.map((k) => k.entity), unique.map((k) => k.key), schema]);
  for (const row of rows as RecordRow[]) {
    result.set(keyOf(row), fromRow(row));
    existing.add(keyOf(row));
  }
  for (const k of unique) if (!result.has(keyOf(k))) result.set(keyOf(k), emptyRecord(k));
  return { records: result, existing };
}

function emptyRecord({ entity, key }: RecordKey): CanonicalRecord {
  return { entity, key, fields: {}, provenance: {}, positions: {}, shadows: {}, deleted: false, version: 0 };
}

/**
 * Writes the records a batch changed, one row write each: an UPDATE of the
 * rows `readRecordsForUpdate` locked, an INSERT of the ones it found missing
 * (`existed` says which). A record inserted meanwhile by another instance
 * makes the INSERT come short: the transaction fails with RecordRaceError
 * (retriable) instead of overwriting it.
 */
export async function writeRecords(trx: Knex.Transaction, schema: string, records: CanonicalRecord[], existing: ReadonlySet<string>): Promise<void> {
  const updates = records.filter((r) => existing.has(keyOf(r)));
  const inserts = records.filter((r) => !existing.has(keyOf(r)) && (r.version > 0 || Object.keys(r.positions).length > 0));
  if (updates.length > 0) await saveRecords(trx, schema, updates);
  if (inserts.length === 0) return;
  const { rowCount } = await trx.raw(
    `INSERT INTO ??.records (entity, key, fields, provenance, positions, shadows, deleted, version)
     SELECT entity, key, fields, provenance, positions, shadows, deleted, version
     FROM jsonb_to_recordset(?::jsonb) AS u(entity text, key text, fields jsonb, provenance jsonb, positions jsonb, shadows jsonb, deleted boolean, version int)
     ORDER BY entity, key
     ON CONFLICT (entity, key) DO NOTHING`,
    [schema, JSON.stringify(inserts.map(toRow))],
  );
  if (rowCount !== inserts.length) {
    throw new RecordRaceError(`${inserts.length - (rowCount ?? 0)} of ${inserts.length} new records were created meanwhile by another writer; the batch is resolved again`, {});
  }
}

export function recordMapKey(entity: string, key: string): string {
  return keyOf({ entity, key });
}

/** Writes records back; placeholders that nothing filled (version 0) are removed again. */
export async function saveRecords(trx: Knex.Transaction, schema: string, records: CanonicalRecord[]): Promise<void> {
  const filled = records.filter((r) => r.version > 0 || Object.keys(r.positions).length > 0);
  const empty = records.filter((r) => !filled.includes(r));
  if (filled.length > 0) {
    await trx.raw(
      `UPDATE ??.records r SET fields = u.fields, provenance = u.provenance, positions = u.positions, shadows = u.shadows,
         deleted = u.deleted, version = u.version, updated_at = now()
       FROM jsonb_to_recordset(?::jsonb) AS u(entity text, key text, fields jsonb, provenance jsonb, positions jsonb, shadows jsonb, deleted boolean, version int)
       WHERE r.entity = u.entity AND r.key = u.key`,
      [schema, JSON.stringify(filled.map(toRow))],
    );
  }
  if (empty.length > 0) {
    await trx.raw(`DELETE FROM ??.records r USING unnest(?::text[], ?::text[]) AS k(entity, key) WHERE r.entity = k.entity AND r.key = k.key AND r.version = 0`, [
      schema, empty.map((r) => r.entity), empty.map((r) => r.key),
    ]);
  }
}

export async function getRecord(knex: Knex, schema: string, entity: string, key: string): Promise<CanonicalRecord | null> {
  const row = (await knex.withSchema(schema).table('records').where({ entity, key }).first()) as RecordRow | undefined;
  return row && row.version > 0 ? fromRow(row) : null;
}

/**
 * Row locks on existing records without reading them: `share` to keep a
 * referenced record from being merged away (deleted) until this transaction
 * ends, `update` to wait for every transaction that holds one. Ordered by key,
 * as the other record locks are, against deadlocks.
 */
export async function lockRecordRows(trx: Knex.Transaction, schema: string, entity: string, keys: readonly string[], mode: 'share' | 'update'): Promise<void> {
  if (keys.length === 0) return;
  await trx.raw(
    `SELECT 1 FROM ??.records WHERE entity = ? AND key = ANY(?::text[]) ORDER BY key FOR ${mode === 'share' ? 'SHARE' : 'UPDATE'}`,
    [schema, entity, [...new Set(keys)]],
  );
}
