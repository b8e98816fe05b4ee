import type { Knex } from 'knex';

export interface Checkpoint {
  system: string;
  position: string;
  sourceTime: Date | null;
}

/** Never moves a checkpoint backwards: several batches of one source may commit out of order. */
export async function saveCheckpoint(trx: Knex.Transaction | Knex, schema: string, system: string, position: string, sourceTimeMs: number): Promise<void> {
  await trx.raw(
    `INSERT INTO ??.checkpoints (system, position, source_time, updated_at) VALUES (?, ?, ?, now())
     ON CONFLICT (system) DO UPDATE SET position = excluded.position, source_time = excluded.source_time, updated_at = now()
     WHERE ??.checkpoints.position <= excluded.position`,
    [schema, system, position, new Date(sourceTimeMs).toISOString(), schema],
  );
}

export async function loadCheckpoints(knex: Knex, schema: string): Promise<Checkpoint[]> {
  const rows: Array<{ system: string; position: string; source_time: Date | null }> = await knex.withSchema(schema).table('checkpoints').select();
  return rows.map((r) => ({ system: r.system, position: r.position, sourceTime: r.source_time }));
}

export async function snapshottedTables(knex: Knex, schema: string, system: string): Promise<Set<string>> {
  const rows: Array<{ source_table: string }> = await knex.withSchema(schema).table('snapshots').where({ system }).select('source_table');
  return new Set(rows.map((r) => r.source_table));
}

export async function markSnapshotted(trx: Knex.Transaction, schema: string, system: string, tables: string[], position: string): Promise<void> {
  if (tables.length === 0) return;
  await trx.withSchema(schema).table('snapshots').insert(tables.map((t) => ({ system, source_table: t, position }))).onConflict(['system', 'source_table']).ignore();
}
