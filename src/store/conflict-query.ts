import type { Knex } from 'knex';
import type { Operation } from 'fast-json-patch';
import type { Value } from '../capture';

/** A conflict-log row as stored, for the auditor commands. */
export interface ConflictRow {
  id: string;
  loggedAt: Date;
  correlationId: string;
  entity: string;
  key: string;
  field: string;
  system: string;
  table: string;
  position: string;
  txId: string | null;
  commitTime: Date;
  /** JSON values; null both for a JSON null and for "no value". */
  attempted: Value | null;
  before: Value | null;
  current: Value | null;
  kept: Value | null;
  rule: string;
  /** The version of the rule that decided (`customer.credit_limit@wave1`), for a rule that changes at a cutover. */
  ruleVersion: string | null;
  rulesVersion: string;
  decision: string;
  corrected: boolean;
  patch: Operation[];
  prevHash: string;
  hash: string;
}

export interface ConflictFilter {
  since?: Date;
  until?: Date;
  entity?: string;
  key?: string;
  field?: string;
  system?: string;
  decision?: string;
  /** Only rows with a larger id (paging). */
  afterId?: string;
}

/**
 * Rows matching the filter. `newest` takes the newest `limit` rows (still
 * returned oldest first); otherwise the oldest `limit` after `afterId`.
 */
export async function queryConflicts(knex: Knex, schema: string, filter: ConflictFilter, limit: number, newest = false): Promise<ConflictRow[]> {
  const query = knex.withSchema(schema).table('conflicts').select();
  if (filter.since) query.where('logged_at', '>=', filter.since);
  if (filter.until) query.where('logged_at', '<', filter.until);
  for (const column of ['entity', 'key', 'field', 'system', 'decision'] as const) {
    const wanted = filter[column];
    if (wanted !== undefined) query.where(column, wanted);
  }
  if (filter.afterId) query.where('id', '>', filter.afterId);
  const rows: StoredRow[] = await query.orderBy('id', newest ? 'desc' : 'asc').limit(limit);
  if (newest) rows.reverse();
  return rows.map(fromStored);
}

export async function getConflict(knex: Knex, schema: string, id: string): Promise<ConflictRow | null> {
  const row: StoredRow | undefined = await knex.withSchema(schema).table('conflicts').where({ id }).first();
  return row ? fromStored(row) : null;
}

/** A manual-review resolution of a held entry. */
export interface ReviewRow {
  conflictId: string;
  decision: 'kept' | 'value';
  system: string | null;
  value: Value | null;
  resolvedBy: string;
  resolvedAt: Date;
  resolutionConflictId: string;
}

export async function getReview(db: Knex | Knex.Transaction, schema: string, conflictId: string): Promise<ReviewRow | null> {
  const row = await db.withSchema(schema).table('reviews').where({ conflict_id: conflictId }).first();
  return row ? reviewOf(row as Record<string, unknown>) : null;
}

export async function insertReview(trx: Knex.Transaction, schema: string, review: Omit<ReviewRow, 'resolvedAt'>): Promise<void> {
  await trx.withSchema(schema).table('reviews').insert({
    conflict_id: review.conflictId,
    decision: review.decision,
    system: review.system,
    value: JSON.stringify(review.value),
    resolved_by: review.resolvedBy,
    resolution_conflict_id: review.resolutionConflictId,
  });
}

/** Held entries nobody has resolved yet, oldest first. */
export async function pendingReviews(knex: Knex, schema: string, limit: number): Promise<ConflictRow[]> {
  const rows: StoredRow[] = await knex.withSchema(schema).table('conflicts as c').select('c.*')
    .leftJoin('reviews as r', 'r.conflict_id', 'c.id')
    .where('c.decision', 'held').whereNull('r.conflict_id')
    .orderBy('c.id').limit(limit);
  return rows.map(fromStored);
}

interface StoredRow {
  id: string;
  logged_at: Date;
  correlation_id: string;
  entity: string;
  key: string;
  field: string;
  system: string;
  source_table: string;
  position: string;
  tx_id: string | null;
  commit_time: Date;
  attempted: Value | null;
  before_value: Value | null;
  current_value: Value | null;
  kept_value: Value | null;
  rule: string;
  rule_version: string | null;
  rules_version: string;
  decision: string;
  corrected: boolean;
  patch: Operation[];
  prev_hash: string;
  hash: string;
}

function fromStored(row: StoredRow): ConflictRow {
  return {
    id: String(row.id), loggedAt: new Date(row.logged_at), correlationId: row.correlation_id,
    entity: row.entity, key: row.key, field: row.field, system: row.system, table: row.source_table,
    position: row.position, txId: row.tx_id, commitTime: new Date(row.commit_time),
    attempted: row.attempted, before: row.before_value, current: row.current_value, kept: row.kept_value,
    rule: row.rule, ruleVersion: row.rule_version ?? null, rulesVersion: row.rules_version, decision: row.decision, corrected: row.corrected,
    patch: row.patch, prevHash: row.prev_hash, hash: row.hash,
  };
}

function reviewOf(row: Record<string, unknown>): ReviewRow {
  return {
    conflictId: String(row.conflict_id), decision: row.decision as ReviewRow['decision'], system: (row.system as string | null) ?? null,
    value: (row.value ?? null) as Value | null, resolvedBy: row.resolved_by as string, resolvedAt: new Date(row.resolved_at as string),
    resolutionConflictId: String(row.resolution_conflict_id),
  };
}
