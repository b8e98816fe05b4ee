import type { Knex } from 'knex';

/**
 * Exceptions on every target, and keys the owner assigns.
 *
 * - `exceptions`: one open row per record and target that the target refused
 *   for good. The refused task stays in the outbox as `held` (its record's
 *   later tasks for that target fold into it instead of each becoming a dead
 *   letter); the row names the fields, the error, the open dead letter and
 *   the system the change came from.
 * - `key_allocations`: a key allocated from a target (a sequence, a query)
 *   for a record, kept before the row is inserted, so a retried insert after
 *   a crash uses the same key instead of allocating a second one.
 * - `outbox.commit_ms`: the source commit time of the change a task carries
 *   out, for the sync-completion and update-lag metrics.
 */
export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.schema.withSchema(schema).createTable('exceptions', (t) => {
    t.bigIncrements('id').primary();
    t.text('target').notNullable();
    t.text('entity').notNullable();
    t.text('key').notNullable();
    /** The system whose change was refused (from the task's correlation id). */
    t.text('origin');
    t.jsonb('fields').notNullable();
    t.text('error_code').notNullable();
    t.text('error').notNullable();
    t.bigInteger('task_id').notNullable();
    t.bigInteger('dead_letter_id');
    t.integer('failures').notNullable().defaultTo(1);
    t.text('status').notNullable().defaultTo('open');
    t.timestamp('opened_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('resolved_at', { useTz: true });
    t.text('resolution');
  });
  await knex.raw(`CREATE UNIQUE INDEX exceptions_open_record ON ??.exceptions (target, entity, key) WHERE status = 'open'`, [schema]);
  await knex.raw(`CREATE INDEX exceptions_task ON ??.exceptions (task_id)`, [schema]);

  await knex.schema.withSchema(schema).createTable('key_allocations', (t) => {
    t.text('system').notNullable();
    t.text('entity').notNullable();
    t.text('canonical_key').notNullable();
    t.text('local_key').notNullable();
    t.timestamp('allocated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['system', 'entity', 'canonical_key']);
  });

  await knex.schema.withSchema(schema).alterTable('outbox', (t) => {
    t.bigInteger('commit_ms');
  });
}
