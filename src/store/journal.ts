import type { Knex } from 'knex';
import type { CanonicalChange } from '../transform';

/**
 * The change journal: canonical changes as the resolver saw them, kept for
 * `journal.retentionHours` so a proposed rule change can be replayed
 * (`tandem rules simulate`).
 */

/**
 * Records a batch's resolved changes in one statement (the rows travel as a
 * single jsonb parameter, so batch size never meets the bind-parameter limit).
 * Keys and references must already be canonical.
 */
export async function appendJournal(trx: Knex.Transaction, schema: string, changes: readonly CanonicalChange[]): Promise<void> {
  if (changes.length === 0) return;
  const rows = changes.map((change) => ({
    system: change.system,
    entity: change.entity,
    key: change.key,
    position: change.event.source.position,
    commit_time: new Date(change.event.source.commitTimeMs).toISOString(),
    change: journalChange(change),
  }));
  await trx.raw(
    `INSERT INTO ??.journal (system, entity, key, position, commit_time, change)
     SELECT system, entity, key, position, commit_time, change
     FROM json_to_recordset(?::json) AS j(system text, entity text, key text, position text, commit_time timestamptz, change json)`,
    [schema, JSON.stringify(rows)],
  );
}

/**
 * The change without the raw source rows: the resolver reads only canonical
 * values and the event's source metadata, and the raw rows would double
 * the journal's size.
 */
function journalChange(change: CanonicalChange): CanonicalChange {
  return { ...change, event: { ...change.event, before: null, after: null, unavailable: [] } };
}

export interface JournalEntry {
  id: string;
  recordedAt: Date;
  change: CanonicalChange;
}

/** Every journal entry, oldest first, a page at a time. */
export async function* readJournal(knex: Knex, schema: string, pageSize = 1000): AsyncGenerator<JournalEntry> {
  let lastId = '0';
  for (;;) {
    const page: Array<{ id: string; recorded_at: Date; change: CanonicalChange }> = await knex
      .withSchema(schema).table('journal').select('id', 'recorded_at', 'change')
      .where('id', '>', lastId).orderBy('id').limit(pageSize);
    for (const row of page) yield { id: String(row.id), recordedAt: new Date(row.recorded_at), change: row.change };
    if (page.length < pageSize) return;
    lastId = String(page.at(-1)!.id);
  }
}

/** Drops entries recorded more than `olderThanMs` ago. */
export async function pruneJournal(knex: Knex, schema: string, olderThanMs: number): Promise<number> {
  return knex.withSchema(schema).table('journal').where('recorded_at', '<', new Date(Date.now() - olderThanMs)).delete();
}
