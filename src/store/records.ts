import type { Knex } from 'knex';
import { correlationIdOf } from '../capture/change-event';
import { RecordRaceError } from '../errors';
import type { CanonicalRecord, FieldProvenance } from '../transform';

export interface RecordKey {
  entity: string;
  key: string;
}

const keyOf = (r: RecordKey) => `${r.entity}\u0000${r.key}`;

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
  const { rows } = await trx.raw(
    `SELECT r.* FROM ??.records r JOIN unnest(?::text[], ?::text[]) AS k(entity, key) USING (entity, key)
     ORDER BY r.entity, r.key FOR UPDATE OF r`,
    [schema, entities, recordKeys],
  );
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
  const unique = [...new Map(keys.map((k) => [keyOf(k), k])).values()].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
  const result = new Map<string, CanonicalRecord>();
  const existing = new Set<string>();
  if (unique.length === 0) return { records: result, existing };
  const { rows } = await trx.raw(
    `SELECT r.* FROM ??.records r JOIN unnest(?::text[], ?::text[]) AS k(entity, key) USING (entity, key)
     ORDER BY r.entity, r.key FOR UPDATE OF r`,
    [schema, unique.map((k) => k.entity), unique.map((k) => k.key)],
  );
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

interface RecordRow {
  entity: string;
  key: string;
  fields: CanonicalRecord['fields'];
  provenance: CanonicalRecord['provenance'];
  positions: CanonicalRecord['positions'];
  shadows: CanonicalRecord['shadows'];
  deleted: boolean;
  version: number;
}

function fromRow(row: RecordRow): CanonicalRecord {
  const { entity, key, fields, positions, shadows, deleted, version } = row;
  const provenance = expandProvenance(row.provenance as StoredProvenance);
  return { entity, key, fields, provenance, positions, shadows, deleted, version };
}

/**
 * Provenance as stored: the fields that share one origin (system, commit
 * time, position) grouped together, and the correlation id left out when it
 * is the usual `<system>@<position>`. Most changes set every field they carry
 * from one event, so a record's provenance is usually one or two groups
 * instead of one object per field — the provenance was most of a record's
 * size, and records are rewritten on every change.
 *
 * Older rows hold an object keyed by field (the correlation id possibly left
 * out the same way): both are read.
 */
type StoredProvenance = ProvenanceGroup[] | Record<string, Omit<FieldProvenance, 'correlationId'> & { correlationId?: string }>;
interface ProvenanceGroup {
  /** system, commit time (ms), position */
  s: string;
  t: number;
  p: string;
  /** the correlation id, when not `<system>@<position>` */
  c?: string;
  /** the commit time's precision in ms, when coarser than 1 (a binlog's whole seconds) */
  q?: number;
  /** the fields */
  f: string[];
}

function expandProvenance(stored: StoredProvenance): CanonicalRecord['provenance'] {
  const out: CanonicalRecord['provenance'] = {};
  const put = (field: string, p: FieldProvenance) => {
    if (field === '__proto__') Object.defineProperty(out, field, { value: p, enumerable: true, writable: true, configurable: true });
    else out[field] = p;
  };
  if (Array.isArray(stored)) {
    for (const g of stored) {
      for (const field of g.f) {
        const p: FieldProvenance = { system: g.s, commitTimeMs: g.t, position: g.p, correlationId: g.c ?? correlationIdOf(g.s, g.p) };
        if (g.q !== undefined) p.commitTimePrecisionMs = g.q;
        put(field, p);
      }
    }
    return out;
  }
  for (const field of Object.keys(stored)) {
    const p = stored[field]!;
    put(field, { ...p, correlationId: p.correlationId ?? correlationIdOf(p.system, p.position) });
  }
  return out;
}

function compactProvenance(provenance: CanonicalRecord['provenance']): ProvenanceGroup[] {
  const groups = new Map<string, ProvenanceGroup>();
  for (const field of Object.keys(provenance)) {
    const p = provenance[field]!;
    const c = p.correlationId === correlationIdOf(p.system, p.position) ? undefined : p.correlationId;
    const q = p.commitTimePrecisionMs;
    const id = `${p.system}\u0000${p.commitTimeMs}\u0000${p.position}\u0000${c ?? ''}\u0000${q ?? ''}`;
    let group = groups.get(id);
    if (!group) {
      group = c === undefined ? { s: p.system, t: p.commitTimeMs, p: p.position, f: [] } : { s: p.system, t: p.commitTimeMs, p: p.position, c, f: [] };
      if (q !== undefined) group.q = q;
      groups.set(id, group);
    }
    group.f.push(field);
  }
  return [...groups.values()];
}

function toRow(record: CanonicalRecord): Omit<RecordRow, 'provenance'> & { provenance: ProvenanceGroup[] } {
  const { entity, key, fields, provenance, positions, shadows, deleted, version } = record;
  return { entity, key, fields, provenance: compactProvenance(provenance), positions, shadows, deleted, version };
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
