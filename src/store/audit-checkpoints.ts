import type { Knex } from 'knex';

/** A signed checkpoint as the state store keeps it (`audit_checkpoints`). */
export interface StoredCheckpoint {
  id: string;
  seq: string;
  hash: string;
  time: string;
  keyId: string;
  signature: string;
}

/** The chain head: the newest conflict row's id and hash ('0' and 'genesis' for an empty log). */
export interface ChainHead {
  seq: string;
  hash: string;
}

/**
 * Something that anchors the chain as it grows: called inside the appending
 * transaction, with the head locked and just moved, so what it writes commits
 * or rolls back with the rows (the checkpointer of `src/audit`).
 */
export interface ChainAnchor {
  anchor(trx: Knex.Transaction, schema: string, head: ChainHead): Promise<void>;
}

export async function readChainHead(db: Knex | Knex.Transaction, schema: string, lock = false): Promise<ChainHead> {
  const query = db.withSchema(schema).table('conflict_chain_head').where({ id: 1 }).first('last_id', 'hash');
  const row = await (lock ? query.forUpdate() : query);
  return { seq: String(row.last_id), hash: String(row.hash) };
}

export async function insertCheckpoint(trx: Knex.Transaction, schema: string, checkpoint: Omit<StoredCheckpoint, 'id'>): Promise<string> {
  const [row] = await trx.withSchema(schema).table('audit_checkpoints').insert({
    seq: checkpoint.seq, hash: checkpoint.hash, signed_at: checkpoint.time, key_id: checkpoint.keyId, signature: checkpoint.signature,
  }).returning('id');
  return String(row.id);
}

export async function newestCheckpoint(db: Knex | Knex.Transaction, schema: string): Promise<StoredCheckpoint | null> {
  const row = await db.withSchema(schema).table('audit_checkpoints').orderBy('id', 'desc').first();
  return row ? toCheckpoint(row) : null;
}

/** Checkpoints after `afterId`, oldest first: ids follow commit order (each is written under the chain-head lock). */
export async function checkpointsAfter(db: Knex, schema: string, afterId: string, limit: number): Promise<StoredCheckpoint[]> {
  const rows: Array<Record<string, unknown>> = await db.withSchema(schema).table('audit_checkpoints').where('id', '>', afterId).orderBy('id').limit(limit);
  return rows.map(toCheckpoint);
}

export async function sinkProgress(db: Knex, schema: string, sink: string): Promise<string> {
  const row = await db.withSchema(schema).table('audit_sink_progress').where({ sink }).first('checkpoint_id');
  return row ? String(row.checkpoint_id) : '0';
}

export async function saveSinkProgress(db: Knex, schema: string, sink: string, checkpointId: string): Promise<void> {
  await db.withSchema(schema).table('audit_sink_progress')
    .insert({ sink, checkpoint_id: checkpointId, updated_at: db.fn.now() })
    .onConflict('sink').merge();
}

function toCheckpoint(row: Record<string, unknown>): StoredCheckpoint {
  return {
    id: String(row.id), seq: String(row.seq), hash: row.hash as string, time: row.signed_at as string,
    keyId: row.key_id as string, signature: row.signature as string,
  };
}
