import type { Knex } from 'knex';
import { chainEntries, chainHash, hashedContent, GENESIS_HASH, type ConflictEntry } from '../conflict';

/**
 * Appends entries to the hash-chained conflict log. Locks the chain head so
 * that concurrent batches extend one chain, never two branches. Returns the
 * new rows' ids, in order.
 */
export async function appendConflicts(trx: Knex.Transaction, schema: string, entries: ConflictEntry[], rulesVersion: string): Promise<string[]> {
  if (entries.length === 0) return [];
  const head = await trx.withSchema(schema).table('conflict_chain_head').where({ id: 1 }).forUpdate().first();
  const chained = chainEntries(head.hash as string, entries, rulesVersion, new Date());
  const rows = chained.map(({ loggedAt, entry, prevHash, hash }) => ({
    logged_at: loggedAt,
    correlation_id: entry.correlationId,
    entity: entry.entity,
    key: entry.key,
    field: entry.field,
    system: entry.system,
    source_table: entry.table,
    position: entry.position,
    tx_id: entry.txId,
    commit_time: new Date(entry.commitTimeMs).toISOString(),
    attempted: jsonb(entry.attempted),
    before_value: jsonb(entry.before),
    current_value: jsonb(entry.current),
    kept_value: jsonb(entry.kept),
    rule: entry.rule,
    rules_version: rulesVersion,
    decision: entry.outcome,
    corrected: entry.corrected,
    patch: JSON.stringify(entry.patch),
    prev_hash: prevHash,
    hash,
  }));
  const inserted: Array<{ id: string }> = await trx.withSchema(schema).table('conflicts').insert(rows).returning('id');
  await trx.withSchema(schema).table('conflict_chain_head').where({ id: 1 }).update({ hash: chained.at(-1)!.hash, last_id: inserted.at(-1)!.id });
  return inserted.map((r) => String(r.id));
}

/** JSON for a jsonb column: SQL NULL for "no value", JSON null for a null value. */
function jsonb(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

export interface ChainVerdict {
  ok: boolean;
  rows: number;
  /** The first row whose content or link does not verify, and why. */
  firstBad?: { id: string; problem: string };
}

/** Recomputes the whole chain in id order, a page at a time. */
export async function verifyConflictChain(knex: Knex, schema: string): Promise<ChainVerdict> {
  let prevHash = GENESIS_HASH;
  let count = 0;
  let lastId = '0';
  for (;;) {
    const page: Array<Record<string, unknown>> = await knex.withSchema(schema).table('conflicts').where('id', '>', lastId).orderBy('id').limit(1000);
    if (page.length === 0) break;
    for (const row of page) {
      count++;
      const id = String(row.id);
      if (row.prev_hash !== prevHash) {
        return { ok: false, rows: count, firstBad: { id, problem: 'its link to the previous row is broken (a row before it was removed, or this row was inserted out of place)' } };
      }
      const content = hashedContent(new Date(row.logged_at as string).toISOString(), row.rules_version as string, entryOf(row));
      if (chainHash(prevHash, content) !== row.hash) {
        return { ok: false, rows: count, firstBad: { id, problem: 'its content does not match its hash (the row was altered)' } };
      }
      prevHash = row.hash as string;
      lastId = id;
    }
  }
  const head = await knex.withSchema(schema).table('conflict_chain_head').where({ id: 1 }).first();
  if (head && BigInt(lastId) > BigInt(head.last_id)) {
    // Rows past the head were not appended by tandem (which moves the head in the same transaction).
    const [extra] = await knex.withSchema(schema).table('conflicts').where('id', '>', head.last_id).orderBy('id').limit(1).select('id');
    return { ok: false, rows: count, firstBad: { id: String(extra.id), problem: 'it lies beyond the chain head: it was inserted out of place, not appended by tandem' } };
  }
  if (head && head.hash !== prevHash) {
    return { ok: false, rows: count, firstBad: { id: String(head.last_id), problem: 'the newest rows were removed (the chain head names a later hash)' } };
  }
  return { ok: true, rows: count };
}

function entryOf(row: Record<string, unknown>): ConflictEntry {
  const value = (v: unknown) => (v === null ? undefined : (v as ConflictEntry['attempted']));
  return {
    entity: row.entity as string,
    key: row.key as string,
    field: row.field as string,
    system: row.system as string,
    table: row.source_table as string,
    position: row.position as string,
    txId: (row.tx_id as string | null) ?? null,
    commitTimeMs: new Date(row.commit_time as string).getTime(),
    correlationId: row.correlation_id as string,
    attempted: (row.attempted ?? null) as ConflictEntry['attempted'],
    before: value(row.before_value),
    current: value(row.current_value),
    kept: value(row.kept_value),
    rule: row.rule as string,
    outcome: row.decision as ConflictEntry['outcome'],
    patch: row.patch as ConflictEntry['patch'],
    corrected: row.corrected as boolean,
  };
}
