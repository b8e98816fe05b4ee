import type { Knex } from 'knex';

/**
 * Cheaper writes on the resolve stage's hot path (measured with
 * `bench/pg-to-pg.ts`):
 * - records are rewritten on every change and their key never changes: with
 *   room left on each page the rewrite is a HOT update (no index entry, the
 *   old version pruned in place) instead of a new tuple on another page;
 * - journal entries are written once and read back whole, never queried
 *   inside: `json` keeps the text as sent (validated only) instead of
 *   converting it to `jsonb`. Readers get the same values (the driver parses
 *   both).
 */
export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.raw('ALTER TABLE ??.records SET (fillfactor = 50)', [schema]);
  await knex.raw('ALTER TABLE ??.journal ALTER COLUMN change TYPE json USING change::json', [schema]);
}
