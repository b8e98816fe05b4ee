import type { Knex } from 'knex';
import type { ApplyTask } from '../apply';
import type { NewTask } from './outbox';

/**
 * Apply intents (migration 014): the durable hand-off of a batch's tasks to
 * this instance's apply stages, one row per batch instead of one outbox row
 * per task. Used only by a single instance (`pipeline.scaleOut: false`),
 * which alone applies every task: the order of a record's tasks is then kept
 * in memory, and checked against the outbox only for the tasks that went
 * there (retries, exceptions, tasks written by the CLI).
 */

/** A task as the intent keeps it (its id is in `task_ids`, at the same place). */
interface IntentTask {
  target: string;
  entity: string;
  key: string;
  op: NewTask['op'];
  fields: NewTask['fields'];
  expected: NewTask['expected'];
  record: NewTask['record'];
  reason: NewTask['reason'];
  correlation_id: string;
  commit_ms: number | null;
}

/** The columns of an intent's tasks, zipped with their ids (SQL). */
const INTENT_TASKS = `ROWS FROM (unnest(i.task_ids), json_to_recordset(i.tasks) AS (target text, entity text, key text, op text, fields jsonb,
    expected jsonb, record jsonb, reason text, correlation_id text, commit_ms bigint))
  AS t(id, target, entity, key, op, fields, expected, record, reason, correlation_id, commit_ms)`;

/**
 * Writes a batch's tasks as one intent, in the resolve transaction. Their
 * ids are drawn from the outbox's sequence in the given order, so a record's
 * tasks keep ascending ids wherever they end up.
 */
export async function writeIntent(trx: Knex.Transaction, schema: string, tasks: readonly NewTask[]): Promise<{ intentId: string; ids: string[] }> {
  const body: IntentTask[] = tasks.map((t) => ({
    target: t.target, entity: t.entity, key: t.key, op: t.op, fields: t.fields, expected: t.expected, record: t.record, reason: t.reason,
    correlation_id: t.correlationId, commit_ms: t.commitTimeMs ?? null,
  }));
  const { rows } = await trx.raw(
    `INSERT INTO ??.apply_intents (task_ids, tasks)
     SELECT array_agg(nextval(?::regclass) ORDER BY g), ?::json FROM generate_series(1, ?::int) AS g
     RETURNING id::text, task_ids::text[]`,
    [schema, `${schema}.outbox_id_seq`, JSON.stringify(body), tasks.length],
  );
  const row = (rows as Array<{ id: string; task_ids: string[] }>)[0]!;
  return { intentId: row.id, ids: row.task_ids };
}

/** Removes intents all of whose tasks are settled (applied, or written to the outbox). */
export async function deleteIntents(knex: Knex, schema: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await knex.raw('DELETE FROM ??.apply_intents WHERE id = ANY(?::bigint[])', [schema, ids]);
}

/**
 * Turns every intent left by an earlier run into outbox tasks (pending, same
 * ids) and removes the intents, in one transaction. Tasks already in the
 * outbox (spilled before the crash) are left as they are. Returns how many
 * tasks went to the outbox.
 */
export async function recoverIntents(knex: Knex, schema: string): Promise<number> {
  return knex.transaction(async (trx) => {
    const { rowCount } = await trx.raw(
      `INSERT INTO ??.outbox (id, target, entity, key, op, fields, expected, record, reason, correlation_id, commit_ms, status, attempts)
       SELECT t.id, t.target, t.entity, t.key, t.op, t.fields, t.expected, coalesce(t.record, r.fields, '{}'::jsonb), t.reason, t.correlation_id, t.commit_ms,
         'pending', 0
       FROM (SELECT id FROM ??.apply_intents ORDER BY id FOR UPDATE) AS locked
       JOIN ??.apply_intents i USING (id), ${INTENT_TASKS}
       LEFT JOIN ??.records r ON r.entity = t.entity AND r.key = t.key
       ORDER BY t.id
       ON CONFLICT (id) DO NOTHING`,
      [schema, schema, schema, schema],
    );
    await trx.raw('DELETE FROM ??.apply_intents', [schema]);
    return rowCount ?? 0;
  });
}

/**
 * The tasks of one intent for one target, in order: those the resolve stage
 * could not hand over in memory (the apply stage's queue was full), read
 * when the queue has room again.
 */
export async function readIntentTasks(knex: Knex, schema: string, intentId: string, target: string): Promise<ApplyTask[]> {
  const { rows } = await knex.raw(
    `SELECT t.id::text AS id, t.target, t.entity, t.key, t.op, t.fields, t.expected, coalesce(t.record, '{}'::jsonb) AS record, t.reason,
       t.correlation_id, t.commit_ms, i.created_at
     FROM ??.apply_intents i, ${INTENT_TASKS}
     WHERE i.id = ? AND t.target = ?
     ORDER BY t.id`,
    [schema, intentId, target],
  );
  return (rows as IntentTaskRow[]).map((r) => ({
    id: r.id, target: r.target, entity: r.entity, key: r.key, op: r.op, fields: r.fields, expected: r.expected, record: r.record,
    reason: r.reason, correlationId: r.correlation_id, commitTimeMs: r.commit_ms === null ? null : Number(r.commit_ms),
    attempts: 0, createdAtMs: new Date(r.created_at).getTime(), intent: intentId,
  }));
}

interface IntentTaskRow extends Omit<IntentTask, 'commit_ms'> {
  id: string;
  commit_ms: string | null;
  created_at: Date;
}

/**
 * Writes tasks of intents into the outbox with their ids: `inflight` leased
 * to `owner` for a task about to go through the outbox's failure paths
 * (retry, exception, dead letter), `pending` for one that waits behind an
 * older outbox task of its record. A task already there is left alone.
 */
export async function spillTasks(knex: Knex, schema: string, tasks: readonly ApplyTask[], leasedTo: string | null, leaseMs = 0): Promise<void> {
  if (tasks.length === 0) return;
  const rows = tasks.map((t) => ({
    id: t.id, target: t.target, entity: t.entity, key: t.key, op: t.op, fields: t.fields, expected: t.expected, record: t.record,
    reason: t.reason, correlation_id: t.correlationId, commit_ms: t.commitTimeMs ?? null,
  }));
  await knex.raw(
    `INSERT INTO ??.outbox (id, target, entity, key, op, fields, expected, record, reason, correlation_id, commit_ms, status, lease_owner, lease_until, attempts)
     SELECT id, target, entity, key, op, fields, expected, record, reason, correlation_id, commit_ms,
       CASE WHEN ?::text IS NULL THEN 'pending' ELSE 'inflight' END, ?::text,
       CASE WHEN ?::text IS NULL THEN NULL ELSE now() + (?::int * interval '1 millisecond') END,
       CASE WHEN ?::text IS NULL THEN 0 ELSE 1 END
     FROM jsonb_to_recordset(?::jsonb) AS t(id bigint, target text, entity text, key text, op text, fields jsonb, expected jsonb, record jsonb,
       reason text, correlation_id text, commit_ms bigint)
     ORDER BY id
     ON CONFLICT (id) DO NOTHING`,
    [schema, leasedTo, leasedTo, leasedTo, leaseMs, leasedTo, JSON.stringify(rows)],
  );
}

/**
 * Of tasks about to be applied from memory, those that must wait: an older
 * task of their record for this target is still open in the outbox (a retry,
 * an exception's held task, a task of the CLI). One probe of index
 * outbox_open per task; nearly free while the outbox is empty.
 */
export async function tasksBehindOutbox(knex: Knex, schema: string, target: string, tasks: ReadonlyArray<Pick<ApplyTask, 'id' | 'entity' | 'key'>>): Promise<Set<string>> {
  const blocked = new Set<string>();
  if (tasks.length === 0) return blocked;
  const { rows } = await knex.raw(
    `SELECT k.id::text AS id FROM unnest(?::bigint[], ?::text[], ?::text[]) AS k(id, entity, key)
     WHERE EXISTS (SELECT 1 FROM ??.outbox o
       WHERE o.target = ? AND o.entity = k.entity AND o.key = k.key AND o.status IN ('pending', 'inflight') AND o.id < k.id)`,
    [tasks.map((t) => t.id), tasks.map((t) => t.entity), tasks.map((t) => t.key), schema, target],
  );
  for (const row of rows as Array<{ id: string }>) blocked.add(row.id);
  return blocked;
}
