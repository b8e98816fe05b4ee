import type { Knex } from 'knex';

/**
 * The resolve → apply hand-off made durable per batch, not per task (issue 10).
 *
 * A single instance (`pipeline.scaleOut: false`) writes one `apply_intents`
 * row per resolved batch, in the resolve transaction: the batch's tasks as
 * one json array (compressed by TOAST) and their ids, drawn from the outbox's
 * sequence so that they order with outbox tasks. The tasks go to the apply
 * stages in process; the row is deleted once every one of them is applied or
 * has been written to the outbox (a retry, an exception). Rows left by a
 * crash are turned into outbox tasks, with the same ids, when the next
 * instance starts: idempotent targets and the applied-task marks make the
 * ones already carried out harmless.
 *
 * `open_tasks` is what is still to be applied, wherever it is: the outbox's
 * tasks not yet carried out and the tasks of intents not yet settled (those
 * spilled into the outbox counted once). Depth, lag, status and compare read it.
 */
export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.raw(`
    CREATE TABLE ??.apply_intents (
      id bigserial PRIMARY KEY,
      created_at timestamptz NOT NULL DEFAULT now(),
      task_ids bigint[] NOT NULL,
      tasks json NOT NULL
    )`, [schema]);
  // lz4 where the server has it: a fraction of pglz's CPU for the same ratio on json.
  await knex.raw(`
    DO $$ BEGIN
      EXECUTE format('ALTER TABLE %I.apply_intents ALTER COLUMN tasks SET COMPRESSION lz4', ${knex.raw('?', [schema]).toQuery()});
    EXCEPTION WHEN feature_not_supported OR invalid_parameter_value OR undefined_object THEN NULL;
    END $$`);
  await knex.raw(`
    CREATE VIEW ??.open_tasks AS
    SELECT o.id, o.target, o.entity, o.key, o.status, o.commit_ms, o.created_at, 'outbox' AS held_in
    FROM ??.outbox o WHERE o.status IN ('pending', 'inflight', 'held')
    UNION ALL
    SELECT t.id, t.target, t.entity, t.key, 'inflight', t.commit_ms, i.created_at, 'intent'
    FROM ??.apply_intents i,
      ROWS FROM (unnest(i.task_ids), json_to_recordset(i.tasks) AS (target text, entity text, key text, commit_ms bigint)) AS t(id, target, entity, key, commit_ms)
    WHERE NOT EXISTS (SELECT 1 FROM ??.outbox s WHERE s.id = t.id)`, [schema, schema, schema, schema]);
}
