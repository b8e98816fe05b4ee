import type { Knex } from 'knex';

/**
 * Anchors the conflict log (issue 11).
 *
 * The chain head row was an ordinary row: whoever could write the database
 * could delete the newest conflicts and move the head back, and `verify`
 * agreed. Now a trigger lets the head move only forward, only onto a row the
 * log holds with that hash, and only when the first row after the old head
 * links to the old head's hash; inserting or deleting head rows is refused.
 * (A superuser can still disable the trigger: that is what the signed
 * checkpoints, kept outside the database, are for.)
 *
 * `audit_checkpoints` holds the signed checkpoints (conflict row id, its hash,
 * the time, the key id and the Ed25519 signature), append-only like the log.
 * They are also published to external sinks; `audit_sink_progress` records
 * how far the webhook sink got (the file sink reads its own last line).
 * The progress row is bookkeeping, not evidence: losing it only re-sends.
 */
export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION ??.guard_chain_head() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      head_hash text;
      next_prev text;
    BEGIN
      IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'the conflict chain head only moves forward: % refused', TG_OP;
      END IF;
      IF NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'the conflict chain head keeps its id';
      END IF;
      IF NEW.last_id < OLD.last_id THEN
        RAISE EXCEPTION 'the conflict chain head cannot move back (from row % to row %)', OLD.last_id, NEW.last_id;
      END IF;
      IF NEW.last_id = OLD.last_id THEN
        IF NEW.hash IS DISTINCT FROM OLD.hash THEN
          RAISE EXCEPTION 'the conflict chain head cannot change the hash of row %', OLD.last_id;
        END IF;
        RETURN NEW;
      END IF;
      EXECUTE format('SELECT hash FROM %I.conflicts WHERE id = $1', TG_TABLE_SCHEMA) INTO head_hash USING NEW.last_id;
      IF head_hash IS NULL OR head_hash <> NEW.hash THEN
        RAISE EXCEPTION 'the conflict chain head must name a logged row and its hash (row % with hash %)', NEW.last_id, NEW.hash;
      END IF;
      EXECUTE format('SELECT prev_hash FROM %I.conflicts WHERE id > $1 ORDER BY id LIMIT 1', TG_TABLE_SCHEMA) INTO next_prev USING OLD.last_id;
      IF next_prev IS DISTINCT FROM OLD.hash THEN
        RAISE EXCEPTION 'the rows after the conflict chain head (row %) do not link to it', OLD.last_id;
      END IF;
      RETURN NEW;
    END $$`, [schema]);
  await knex.raw('CREATE TRIGGER conflict_chain_head_forward BEFORE UPDATE ON ??.conflict_chain_head FOR EACH ROW EXECUTE FUNCTION ??.guard_chain_head()', [schema, schema]);
  await knex.raw('CREATE TRIGGER conflict_chain_head_fixed BEFORE INSERT OR DELETE OR TRUNCATE ON ??.conflict_chain_head FOR EACH STATEMENT EXECUTE FUNCTION ??.guard_chain_head()', [schema, schema]);

  await knex.schema.withSchema(schema).createTable('audit_checkpoints', (t) => {
    t.bigIncrements('id').primary();
    // The conflict row id the checkpoint ends at, and that row's hash.
    t.bigInteger('seq').notNullable();
    t.text('hash').notNullable();
    // The signed time, as signed (ISO-8601, UTC): kept as text so the signed bytes are the stored ones.
    t.text('signed_at').notNullable();
    t.text('key_id').notNullable();
    t.text('signature').notNullable();
  });
  await knex.raw(`
    CREATE FUNCTION ??.refuse_checkpoint_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit checkpoints are append-only: % refused', TG_OP;
    END $$`, [schema]);
  await knex.raw('CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ??.audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION ??.refuse_checkpoint_change()', [schema, schema]);

  await knex.schema.withSchema(schema).createTable('audit_sink_progress', (t) => {
    t.text('sink').primary();
    t.bigInteger('checkpoint_id').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}
