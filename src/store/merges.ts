import type { Knex } from 'knex';

/** A merge as stored (canonical keys). */
export interface StoredMerge {
  entity: string;
  loser: string;
  survivor: string;
  system: string;
  correlationId: string;
}

/**
 * Direct survivors of `keys` that were merged away (loser → survivor). Chains
 * are followed by the caller (`followMerges`): this reads one more step for
 * every survivor that is itself a loser.
 */
export async function survivorsOf(db: Knex | Knex.Transaction, schema: string, entity: string, keys: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  let wanted = [...new Set(keys)];
  while (wanted.length > 0) {
    const rows: Array<{ loser_key: string; survivor_key: string }> = await db.withSchema(schema).table('merges')
      .select('loser_key', 'survivor_key').where('entity', entity).whereIn('loser_key', wanted);
    for (const r of rows) found.set(r.loser_key, r.survivor_key);
    wanted = rows.map((r) => r.survivor_key).filter((k) => !found.has(k));
  }
  return found;
}

/** Stores merges and retires the losers' crosswalk links. A merge stored before (a redelivery) stays as it was. */
export async function recordMerges(trx: Knex.Transaction, schema: string, merges: readonly StoredMerge[]): Promise<void> {
  if (merges.length === 0) return;
  await trx.withSchema(schema).table('merges')
    .insert(merges.map((m) => ({ entity: m.entity, loser_key: m.loser, survivor_key: m.survivor, system: m.system, correlation_id: m.correlationId })))
    .onConflict(['entity', 'loser_key']).ignore();
  for (const m of merges) {
    await trx.withSchema(schema).table('crosswalk').where({ entity: m.entity, canonical_key: m.loser }).whereNull('retired_at').update({ retired_at: trx.fn.now() });
  }
}

/** Keys of live records of `entity` whose `field` holds `value` (children of a merged-away record). */
export async function recordsReferencing(trx: Knex.Transaction, schema: string, entity: string, field: string, value: string): Promise<string[]> {
  const rows: Array<{ key: string }> = await trx.withSchema(schema).table('records').select('key')
    .where('entity', entity).where('deleted', false).where('version', '>', 0).whereRaw('fields ->> ? = ?', [field, value]);
  return rows.map((r) => r.key);
}

/** Every merge, oldest first (the demo's and tests' checks). */
export async function listMerges(db: Knex, schema: string, entity?: string): Promise<StoredMerge[]> {
  const query = db.withSchema(schema).table('merges').select('*').orderBy('id');
  if (entity) query.where('entity', entity);
  const rows: Array<Record<string, string>> = await query;
  return rows.map((r) => ({ entity: r.entity!, loser: r.loser_key!, survivor: r.survivor_key!, system: r.system!, correlationId: r.correlation_id! }));
}
