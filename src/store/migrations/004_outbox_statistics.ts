import type { Knex } from 'knex';

/**
 * The outbox goes from empty to a backlog of many thousands of rows within
 * seconds; analyse it early so plans follow (the default waits for 10 % of
 * the table to change, which is never while it keeps growing).
 */
export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.raw(
    'ALTER TABLE ??.outbox SET (autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 500, autovacuum_vacuum_scale_factor = 0.05)',
    [schema],
  );
}
