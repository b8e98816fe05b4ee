import type { Knex } from 'knex';
import { chainEntries, type ConflictEntry } from '../conflict';
import type { ChainAnchor } from './audit-checkpoints';

/**
 * Appends entries to the hash-chained conflict log. Locks the chain head so
 * that concurrent batches extend one chain, never two branches. With an
 * `anchor` (the pipeline's checkpointer), the moved head is offered to it in
 * the same transaction: about one checkpoint row every N rows, no per-row work.
 * Returns the new rows' ids, in order.
 */
export async function appendConflicts(trx: Knex.Transaction, schema: string, entries: ConflictEntry[], rulesVersion: string, anchor?: ChainAnchor): Promise<string[]> {
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
    rule_version: entry.ruleVersion ?? null,
    rules_version: rulesVersion,
    decision: entry.outcome,
    corrected: entry.corrected,
    patch: JSON.stringify(entry.patch),
    prev_hash: prevHash,
    hash,
  }));
  const inserted: Array<{ id: string }> = await trx.withSchema(schema).table('conflicts').insert(rows).returning('id');
  const newHead = { seq: String(inserted.at(-1)!.id), hash: chained.at(-1)!.hash };
  await trx.withSchema(schema).table('conflict_chain_head').where({ id: 1 }).update({ hash: newHead.hash, last_id: newHead.seq });
  if (anchor) await anchor.anchor(trx, schema, newHead);
  return inserted.map((r) => String(r.id));
}

/** JSON for a jsonb column: SQL NULL for "no value", JSON null for a null value. */
function jsonb(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/** A stored row back as the entry that was hashed. */
export function entryOfRow(row: Record<string, unknown>): ConflictEntry {
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
    ...(typeof row.rule_version === 'string' ? { ruleVersion: row.rule_version } : {}),
  };
}
