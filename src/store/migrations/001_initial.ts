import type { Knex } from 'knex';

/**
 * The state store: canonical records, crosswalk, conflict log, checkpoints,
 * outbox, dead letters and the deduplication fallback. Every table lives in
 * the configured schema (default `tandem`), passed in as `schema`.
 */
export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.raw('CREATE SCHEMA IF NOT EXISTS ??', [schema]);
  // A fresh builder per statement: a schema builder accumulates the statements it runs.
  const s = () => knex.schema.withSchema(schema);

  await s().createTable('records', (t) => {
    t.text('entity').notNullable();
    t.text('key').notNullable();
    t.jsonb('fields').notNullable().defaultTo('{}');
    t.jsonb('provenance').notNullable().defaultTo('{}');
    t.jsonb('positions').notNullable().defaultTo('{}');
    t.jsonb('shadows').notNullable().defaultTo('{}');
    t.boolean('deleted').notNullable().defaultTo(false);
    t.integer('version').notNullable().defaultTo(0);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['entity', 'key']);
  });

  await s().createTable('crosswalk', (t) => {
    t.text('entity').notNullable();
    t.text('system').notNullable();
    t.text('local_key').notNullable();
    t.text('canonical_key').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['entity', 'system', 'local_key']);
    t.unique(['entity', 'system', 'canonical_key']);
  });

  // Append-only, hash-chained. The shape carries everything the auditor
  // tooling needs, so later policies add rows, not columns.
  await s().createTable('conflicts', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('logged_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('correlation_id').notNullable();
    t.text('entity').notNullable();
    t.text('key').notNullable();
    t.text('field').notNullable();
    t.text('system').notNullable();
    t.text('source_table').notNullable();
    t.text('position').notNullable();
    t.text('tx_id');
    t.timestamp('commit_time', { useTz: true }).notNullable();
    t.jsonb('attempted');
    t.jsonb('before_value');
    t.jsonb('current_value');
    t.jsonb('kept_value');
    t.text('rule').notNullable();
    t.text('rules_version').notNullable();
    t.text('decision').notNullable();
    t.boolean('corrected').notNullable();
    t.jsonb('patch').notNullable();
    t.text('prev_hash').notNullable();
    t.text('hash').notNullable().unique();
    t.index(['entity', 'key']);
  });
  await knex.raw(`
    CREATE FUNCTION ??.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'the conflict log is append-only: % refused', TG_OP;
    END $$`, [schema]);
  await knex.raw('CREATE TRIGGER conflicts_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ??.conflicts FOR EACH STATEMENT EXECUTE FUNCTION ??.refuse_change()', [schema, schema]);
  // One row holding the newest hash: appenders lock it, so the chain never forks.
  await s().createTable('conflict_chain_head', (t) => {
    t.integer('id').primary();
    t.text('hash').notNullable();
    t.bigInteger('last_id').notNullable();
  });
  await knex.withSchema(schema).table('conflict_chain_head').insert({ id: 1, hash: 'genesis', last_id: 0 });

  await s().createTable('checkpoints', (t) => {
    t.text('system').primary();
    t.text('position').notNullable();
    t.timestamp('source_time', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await s().createTable('snapshots', (t) => {
    t.text('system').notNullable();
    t.text('source_table').notNullable();
    t.text('position').notNullable();
    t.timestamp('completed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['system', 'source_table']);
  });

  await s().createTable('outbox', (t) => {
    t.bigIncrements('id').primary();
    t.text('target').notNullable();
    t.text('entity').notNullable();
    t.text('key').notNullable();
    t.text('op').notNullable();
    t.jsonb('fields').notNullable();
    t.jsonb('expected').notNullable();
    t.jsonb('record').notNullable();
    t.text('reason').notNullable();
    t.text('correlation_id').notNullable();
    // pending → inflight (leased) → done | dead
    t.text('status').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('lease_owner');
    t.timestamp('lease_until', { useTz: true });
    t.text('outcome');
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('done_at', { useTz: true });
  });
  await knex.raw(`CREATE INDEX outbox_open ON ??.outbox (target, entity, key, id) WHERE status IN ('pending', 'inflight')`, [schema]);
  await knex.raw(`CREATE INDEX outbox_due ON ??.outbox (next_attempt_at, id) WHERE status = 'pending'`, [schema]);

  await s().createTable('dead_letters', (t) => {
    t.bigIncrements('id').primary();
    t.text('kind').notNullable(); // 'event' (could not be decoded/mapped) or 'task' (could not be applied)
    t.text('system');
    t.text('source_table');
    t.text('position');
    t.text('correlation_id');
    t.bigInteger('task_id');
    t.text('error_code').notNullable();
    t.text('error').notNullable();
    t.jsonb('payload').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('status').notNullable().defaultTo('open');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  // Used for deduplication when no Redis is configured (the embedded demo only).
  await s().createTable('dedup', (t) => {
    t.text('kind').notNullable();
    t.text('id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['kind', 'id']);
  });
}
