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

/** The journal's times come from the database's clock, a log entry's from tandem's. */
const CLOCK_SLACK_MS = 60_000;

/** The change that set a field to a value, as the journal recorded it. */
export interface JournalledChange {
  system: string;
  commitTime: Date;
  position: string;
}

/**
 * The journalled change that set `field` of the record to `value` before the
 * entry's own change (`system` at `position`): for a conflict entry, the side
 * whose value it competed with — another system in a race, any system (the
 * same one included) under an owner rule. Walking back from the entry, the
 * newest run of changes carrying `value` is found (changes with other values
 * in between were refused); its oldest member set the value, the later ones
 * only repeated it. Null when the journal no longer holds it (pruned after
 * journal.retentionHours, or journalling off).
 */
export async function findSettingChange(
  knex: Knex, schema: string,
  wanted: { entity: string; key: string; field: string; value: unknown; system: string; position: string; loggedAt: Date },
): Promise<JournalledChange | null> {
  // Resolved before the entry's own change: journalled ahead of it when that is still journalled
  // (one batch can hold both), and recorded by the time the entry was logged.
  const own = knex.withSchema(schema).table('journal').min('id')
    .where({ entity: wanted.entity, key: wanted.key, system: wanted.system, position: wanted.position });
  const rows = await knex.withSchema(schema).table('journal')
    .where({ entity: wanted.entity, key: wanted.key })
    .whereNot((self) => self.where({ system: wanted.system, position: wanted.position }))
    .where('recorded_at', '<=', new Date(wanted.loggedAt.getTime() + CLOCK_SLACK_MS))
    .where('id', '<', knex.raw(`coalesce((?), 9223372036854775807)`, [own]))
    .orderBy('id', 'desc').limit(SETTER_SEARCH_LIMIT)
    .select('system', 'commit_time', 'position', knex.raw(`(change -> 'after' -> ?)::text AS value`, [wanted.field])) as Array<{ system: string; commit_time: Date; position: string; value: string | null }>;
  const target = JSON.stringify(wanted.value ?? null);
  let setter: (typeof rows)[number] | null = null;
  for (const row of rows) {
    const same = row.value !== null && JSON.stringify(JSON.parse(row.value)) === target;
    if (same) setter = row;
    else if (setter && row.value !== null) break;
  }
  return setter ? { system: setter.system, commitTime: new Date(setter.commit_time), position: setter.position } : null;
}

/** How far back the journal is searched for the change that set a value. */
const SETTER_SEARCH_LIMIT = 1000;
