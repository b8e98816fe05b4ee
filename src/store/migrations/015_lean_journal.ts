import type { Knex } from 'knex';

/**
 * A leaner journal row (issue 10): what a batch's changes have in common is
 * written once in `common` (see store/journal-encoding.ts); `changes` keeps
 * the rest of each. Rows written before have no `common` and whole changes.
 *
 * `journal_change(common, stored)` rebuilds a whole change in SQL (the
 * change, its event and the event's source merged level by level, the
 * correlation id `<system>@<position>` where it was left out), so the
 * `journal` view keeps showing whole changes, one row per change, with the
 * same columns as before.
 */
export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.raw('ALTER TABLE ??.journal_batches ADD COLUMN common json', [schema]);
  await knex.raw(`
    CREATE FUNCTION ??.journal_change(common jsonb, stored jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
      SELECT common || stored || jsonb_build_object('event',
        jsonb_build_object('correlationId', (s.source ->> 'system') || '@' || (s.source ->> 'position'))
          || coalesce(common -> 'event', '{}') || coalesce(stored -> 'event', '{}') || jsonb_build_object('source', s.source))
      FROM (SELECT coalesce(common -> 'event' -> 'source', '{}') || coalesce(stored -> 'event' -> 'source', '{}') AS source) s
    $$`, [schema]);
  await knex.raw(`
    CREATE OR REPLACE VIEW ??.journal AS
    SELECT b.id * 1000000 + c.n - 1 AS id,
      f.change->>'system' AS system, f.change->>'entity' AS entity, f.change->>'key' AS key,
      f.change->'event'->'source'->>'position' AS position,
      to_timestamp((f.change->'event'->'source'->>'commitTimeMs')::float8 / 1000) AS commit_time,
      b.recorded_at, f.change
    FROM ??.journal_batches b, json_array_elements(b.changes) WITH ORDINALITY AS c(change, n),
      LATERAL (SELECT CASE WHEN b.common IS NULL THEN c.change ELSE ??.journal_change(b.common::jsonb, c.change::jsonb)::json END AS change) f`,
  [schema, schema, schema]);
}
