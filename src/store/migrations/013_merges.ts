import type { Knex } from 'knex';

/**
 * Record merges (`entities.<e>.merge`): which record was merged into which,
 * by which system, and when. References that still name a loser (a change
 * made before the source heard of the merge) are led to its survivor through
 * this table. The loser's crosswalk links stay (old events must still find
 * their canonical key) but are marked retired: no live row answers to them.
 */
export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.schema.withSchema(schema).createTable('merges', (t) => {
    t.bigIncrements('id');
    t.text('entity').notNullable();
    t.text('loser_key').notNullable();
    t.text('survivor_key').notNullable();
    t.text('system').notNullable();
    t.text('correlation_id').notNullable();
    t.timestamp('merged_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['entity', 'loser_key']);
  });
  await knex.schema.withSchema(schema).alterTable('crosswalk', (t) => {
    t.timestamp('retired_at', { useTz: true }).nullable();
  });
}
