import type { Knex } from 'knex';

/**
 * Manual-review resolutions and the change journal.
 *
 * `reviews` sits beside the conflict log rather than in it: the log stays
 * append-only and unchanged in shape, and a resolution is itself logged there
 * as a `resolved` row (`resolution_conflict_id`), so the chain covers it.
 *
 * `journal` keeps the canonical changes that reached the resolver, for
 * `tandem rules simulate`; it is pruned to `journal.retentionHours`.
 */
export async function up(knex: Knex, schema: string): Promise<void> {
  const s = () => knex.schema.withSchema(schema);

  await s().createTable('reviews', (t) => {
    t.bigInteger('conflict_id').primary().references('id').inTable(`${schema}.conflicts`);
    t.text('decision').notNullable(); // 'kept' (a system's value) or 'value' (one given by the reviewer)
    t.text('system');
    t.jsonb('value');
    t.text('resolved_by').notNullable();
    t.timestamp('resolved_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.bigInteger('resolution_conflict_id').notNullable().references('id').inTable(`${schema}.conflicts`);
  });
  await knex.raw(`ALTER TABLE ??.reviews ADD CONSTRAINT reviews_decision CHECK (decision IN ('kept', 'value'))`, [schema]);

  await s().createTable('journal', (t) => {
    t.bigIncrements('id').primary();
    t.text('system').notNullable();
    t.text('entity').notNullable();
    t.text('key').notNullable();
    t.text('position').notNullable();
    t.timestamp('commit_time', { useTz: true }).notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.jsonb('change').notNullable();
    t.index(['recorded_at']);
  });
}
