import type { Knex } from 'knex';

/**
 * How a dead letter was dealt with (`tandem dlq retry|discard`): when, by
 * whom, what happened (`resolution`: the retry's outcome or the discard) and,
 * for a discard, the reason given. The discard is also chained onto the
 * conflict log, so the audit trail does not rest on these mutable columns.
 *
 * No CHECK on status: stores may hold statuses set by hand before these
 * commands existed; the commands only ever act on `open` letters.
 *
 * The partial index serves `tandem dlq list` and the aging metric, which
 * read open letters by age.
 */
export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.schema.withSchema(schema).alterTable('dead_letters', (t) => {
    t.timestamp('resolved_at', { useTz: true });
    t.text('resolved_by');
    t.text('resolution');
    t.text('reason');
  });
  await knex.raw(`CREATE INDEX dead_letters_open ON ??.dead_letters (created_at) WHERE status = 'open'`, [schema]);
}
