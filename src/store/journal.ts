import type { Knex } from 'knex';
import type { CanonicalChange } from '../transform';
import { decodeChange, encodeBatch } from './journal-encoding';

/**
 * The change journal: canonical changes as the resolver saw them, kept for
 * `journal.retentionHours` so a proposed rule change can be replayed
 * (`tandem rules simulate`, `tandem replay`). One row per resolved batch
 * (`journal_batches`, see migration 010): the changes in resolution order,
 * as one json array, what they have in common written once (see
 * journal-encoding.ts, migration 015).
 */

/**
 * Records a batch's resolved changes as one row. Keys and references must
 * already be canonical.
 */
export async function appendJournal(trx: Knex.Transaction, schema: string, system: string, changes: readonly CanonicalChange[]): Promise<void> {
  if (changes.length === 0) return;
  let firstCommitMs = Infinity;
  for (const c of changes) firstCommitMs = Math.min(firstCommitMs, c.event.source.commitTimeMs);
  const batch = encodeBatch(changes);
  await trx.raw(
    `INSERT INTO ??.journal_batches (system, first_commit_time, common, changes) VALUES (?, ?, ?::json, ?::json)`,
    [schema, system, new Date(firstCommitMs).toISOString(), JSON.stringify(batch.common), JSON.stringify(batch.changes)],
  );
}

export interface JournalEntry {
  /** Resolution order: the batch's id × 1,000,000 + the change's place in it (as the `journal` view numbers them). */
  id: string;
  recordedAt: Date;
  change: CanonicalChange;
}

/** Which changes to read: a system's, from/until a commit time or a source position. */
export interface JournalFilter {
  system?: string;
  fromTime?: Date;
  untilTime?: Date;
  fromPosition?: string;
  untilPosition?: string;
}

/** Every journal entry that passes `filter`, oldest first, a page of batches at a time. */
export async function* readJournal(knex: Knex, schema: string, filter: JournalFilter = {}, pageSize = 20): AsyncGenerator<JournalEntry> {
  let lastId = '0';
  for (;;) {
    const query = knex.withSchema(schema).table('journal_batches').select('id', 'recorded_at', 'common', 'changes')
      .where('id', '>', lastId).orderBy('id').limit(pageSize);
    if (filter.system) query.where('system', filter.system);
    const page: Array<{ id: string; recorded_at: Date; common: Record<string, unknown> | null; changes: Array<Record<string, unknown>> }> = await query;
    for (const row of page) {
      const recordedAt = new Date(row.recorded_at);
      for (const [n, stored] of row.changes.entries()) {
        const change = decodeChange(stored, row.common);
        if (passes(change, filter)) yield { id: String(BigInt(row.id) * 1_000_000n + BigInt(n)), recordedAt, change };
      }
    }
    if (page.length < pageSize) return;
    lastId = String(page.at(-1)!.id);
  }
}

function passes(change: CanonicalChange, f: JournalFilter): boolean {
  const { position, commitTimeMs } = change.event.source;
  if (f.system !== undefined && change.system !== f.system) return false;
  if (f.fromTime !== undefined && commitTimeMs < f.fromTime.getTime()) return false;
  if (f.untilTime !== undefined && commitTimeMs >= f.untilTime.getTime()) return false;
  if (f.fromPosition !== undefined && position < f.fromPosition) return false;
  if (f.untilPosition !== undefined && position > f.untilPosition) return false;
  return true;
}

/** The oldest commit time and recording time the journal holds (null when empty). */
export async function journalStart(knex: Knex, schema: string): Promise<{ commitTime: Date | null; recordedAt: Date | null }> {
  const row = await knex.withSchema(schema).table('journal_batches').min('first_commit_time as t').min('recorded_at as recorded').first();
  return { commitTime: row?.t ? new Date(row.t as string) : null, recordedAt: row?.recorded ? new Date(row.recorded as string) : null };
}

/** Drops batches recorded more than `olderThanMs` ago; returns how many changes they held. */
export async function pruneJournal(knex: Knex, schema: string, olderThanMs: number): Promise<number> {
  const { rows } = await knex.raw(
    `WITH gone AS (DELETE FROM ??.journal_batches WHERE recorded_at < ? RETURNING json_array_length(changes) AS n)
     SELECT coalesce(sum(n), 0)::int AS n FROM gone`,
    [schema, new Date(Date.now() - olderThanMs)],
  );
  return (rows as Array<{ n: number }>)[0]!.n;
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
 * journal.retentionHours, or journalling off). Reads the `journal` view (one
 * row per change over the batches), scanning the retained journal.
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
