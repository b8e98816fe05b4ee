import type { Knex } from 'knex';

/**
 * A lean state path (issue 10): the journal is written one row per resolved
 * batch instead of one per change.
 *
 * `journal_batches` holds a batch's canonical changes as one json array, in
 * the order they were resolved. Large arrays are compressed by TOAST, so the
 * journal's share of the state store's WAL drops from about 1 kB per change
 * to a small fraction of it, and from one row write per change to one per
 * batch. The rows of the old `journal` table become batches of one.
 *
 * `journal` becomes a read-only view with the old table's columns, one row
 * per change (id = batch id × 1,000,000 + place in the batch, so ids still
 * follow resolution order): for people and scripts that queried it. tandem
 * itself reads `journal_batches` (see store/journal.ts).
 */
export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.raw(`
    CREATE TABLE ??.journal_batches (
      id bigserial PRIMARY KEY,
      system text NOT NULL,
      first_commit_time timestamptz NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now(),
      changes json NOT NULL
    )`, [schema]);
  await knex.raw('CREATE INDEX journal_batches_recorded_at ON ??.journal_batches (recorded_at)', [schema]);
  await knex.raw(`
    INSERT INTO ??.journal_batches (system, first_commit_time, recorded_at, changes)
    SELECT system, commit_time, recorded_at, json_build_array(change) FROM ??.journal ORDER BY id`, [schema, schema]);
  await knex.raw('DROP TABLE ??.journal', [schema]);
  await knex.raw(`
    CREATE VIEW ??.journal AS
    SELECT b.id * 1000000 + c.n - 1 AS id,
      c.change->>'system' AS system, c.change->>'entity' AS entity, c.change->>'key' AS key,
      c.change->'event'->'source'->>'position' AS position,
      to_timestamp((c.change->'event'->'source'->>'commitTimeMs')::float8 / 1000) AS commit_time,
      b.recorded_at, c.change
    FROM ??.journal_batches b, json_array_elements(b.changes) WITH ORDINALITY AS c(change, n)`, [schema, schema]);
}
