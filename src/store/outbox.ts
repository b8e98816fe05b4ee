import type { Knex } from 'knex';
import type { ApplyTask } from '../apply';

export type NewTask = Omit<ApplyTask, 'id' | 'attempts' | 'createdAtMs'>;

/** Who a newly written task is leased to: tasks handed to an apply stage in process (see pipeline/hand-off.ts). */
export interface TaskLease {
  owner: string;
  leaseMs: number;
  /** Whether the task goes to its apply stage in process (else it is written pending, for a claim). */
  leased(task: NewTask): boolean;
}

/**
 * Writes tasks in the given order and returns their ids in that order. With
 * `lease`, the tasks it picks are written already claimed (`inflight`, leased
 * to `lease.owner`, one attempt counted as a claim would): the caller hands
 * them to the apply stage after commit, and no claim UPDATE rewrites them.
 */
export async function enqueueTasks(trx: Knex.Transaction, schema: string, tasks: NewTask[], lease?: TaskLease): Promise<string[]> {
  if (tasks.length === 0) return [];
  const rows = tasks.map((t) => ({
    target: t.target,
    entity: t.entity,
    key: t.key,
    op: t.op,
    fields: t.fields,
    expected: t.expected,
    record: t.record,
    reason: t.reason,
    correlation_id: t.correlationId,
    commit_ms: t.commitTimeMs ?? null,
    leased: lease?.leased(t) ?? false,
  }));
  // One jsonb parameter for the whole batch: cheaper to bind and parse than
  // ten parameters a row, and never near the bind-parameter limit.
  const { rows: ids } = await trx.raw(
    `INSERT INTO ??.outbox (target, entity, key, op, fields, expected, record, reason, correlation_id, commit_ms, status, lease_owner, lease_until, attempts)
     SELECT target, entity, key, op, fields, expected, record, reason, correlation_id, commit_ms,
       CASE WHEN leased THEN 'inflight' ELSE 'pending' END,
       CASE WHEN leased THEN ?::text END,
       CASE WHEN leased THEN now() + (?::int * interval '1 millisecond') END,
       CASE WHEN leased THEN 1 ELSE 0 END
     FROM ROWS FROM (jsonb_to_recordset(?::jsonb) AS (target text, entity text, key text, op text, fields jsonb,
       expected jsonb, record jsonb, reason text, correlation_id text, commit_ms bigint, leased boolean)) WITH ORDINALITY AS t(target, entity, key, op, fields, expected, record, reason, correlation_id, commit_ms, leased, n)
     -- ids follow the batch's order: a record's tasks are applied in id order
     ORDER BY n
     RETURNING id`,
    [schema, lease?.owner ?? null, lease?.leaseMs ?? 0, JSON.stringify(rows)],
  );
  // The ids were drawn from the sequence in the ORDER BY's order: ascending ids are the tasks in order.
  return (ids as Array<{ id: string }>).map((r) => BigInt(r.id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
}

/**
 * Gives tasks leased to `owner` back to the outbox as pending, claimable by
 * any instance, the claim counted by the lease undone. Tasks no longer
 * leased to `owner` are left alone.
 */
export async function releaseTasks(knex: Knex, schema: string, ids: readonly string[], owner: string): Promise<void> {
  if (ids.length === 0) return;
  await knex.raw(
    `UPDATE ??.outbox SET status = 'pending', lease_owner = NULL, lease_until = NULL, attempts = greatest(attempts - 1, 0)
     WHERE id = ANY(?::bigint[]) AND lease_owner = ? AND status = 'inflight'`,
    [schema, ids, owner],
  );
}

/**
 * Makes outbox tasks leased by other owners claimable at once, for a single
 * instance starting up (no other instance can be applying them). Returns how
 * many there were.
 */
export async function releaseEarlierLeases(knex: Knex, schema: string, owner: string): Promise<number> {
  const { rowCount } = await knex.raw(
    `UPDATE ??.outbox SET status = 'pending', lease_owner = NULL, lease_until = NULL, attempts = greatest(attempts - 1, 0)
     WHERE status = 'inflight' AND lease_owner IS DISTINCT FROM ?`,
    [schema, owner],
  );
  return rowCount ?? 0;
}

/**
 * Checks tasks handed to an apply stage in process before they are applied:
 * `gone` are no longer leased to `owner` (folded into an exception's task,
 * or taken over), so they are not this instance's to apply; `blocked` have
 * an older open task of the same record for the same target, which they
 * must not overtake. Two index probes per task (the primary key and
 * outbox_open); scalar subqueries on purpose, so the plan cannot change with
 * the table's statistics (see claimTasks).
 */
export async function checkHandedTasks(
  knex: Knex, schema: string, target: string, owner: string, tasks: ReadonlyArray<Pick<ApplyTask, 'id' | 'entity' | 'key'>>,
): Promise<{ gone: Set<string>; blocked: Set<string> }> {
  const gone = new Set<string>();
  const blocked = new Set<string>();
  if (tasks.length === 0) return { gone, blocked };
  const { rows } = await knex.raw(
    `SELECT k.id::text AS id,
       (SELECT o.lease_owner = ? AND o.status = 'inflight' FROM ??.outbox o WHERE o.id = k.id) IS NOT TRUE AS gone,
       (SELECT o.id FROM ??.outbox o
        WHERE o.target = ? AND o.entity = k.entity AND o.key = k.key AND o.status IN ('pending', 'inflight') AND o.id < k.id
        ORDER BY o.id LIMIT 1) IS NOT NULL AS blocked
     FROM unnest(?::bigint[], ?::text[], ?::text[]) AS k(id, entity, key)`,
    [owner, schema, schema, target, tasks.map((t) => t.id), tasks.map((t) => t.entity), tasks.map((t) => t.key)],
  );
  for (const row of rows as Array<{ id: string; gone: boolean; blocked: boolean }>) {
    if (row.gone) gone.add(row.id);
    else if (row.blocked) blocked.add(row.id);
  }
  return { gone, blocked };
}

/**
 * Leases due tasks for one target. Only the oldest open task of each record
 * is claimable, so a record's writes happen in order and a failing write
 * holds back later writes to the same record but no other record.
 * Expired leases (a crashed instance) are taken over.
 */
export async function claimTasks(knex: Knex, schema: string, target: string, limit: number, owner: string, leaseMs: number): Promise<ApplyTask[]> {
  // Walks the target's open tasks in id order (index outbox_claim); a task is
  // claimable when it is due and is the oldest open task of its record. The
  // "oldest" test is a scalar subquery on purpose: the planner cannot turn it
  // into a join, so it stays one index probe per candidate even when the
  // table's statistics still describe an empty outbox (as NOT EXISTS did not:
  // 4.7 s per claim of 500 from 20,000 open tasks before ANALYZE, 2 ms after).
  const { rows } = await knex.raw(
    `WITH claimable AS (
       SELECT c.id FROM ??.outbox c
       WHERE c.target = ? AND c.status IN ('pending', 'inflight')
         AND ((c.status = 'pending' AND c.next_attempt_at <= now()) OR (c.status = 'inflight' AND c.lease_until < now()))
         AND c.id = (
           SELECT p.id FROM ??.outbox p
           WHERE p.target = c.target AND p.entity = c.entity AND p.key = c.key AND p.status IN ('pending', 'inflight')
           ORDER BY p.id LIMIT 1)
       ORDER BY c.id LIMIT ? FOR UPDATE OF c SKIP LOCKED)
     UPDATE ??.outbox o SET status = 'inflight', lease_owner = ?, lease_until = now() + (? * interval '1 millisecond'), attempts = o.attempts + 1
     FROM claimable WHERE o.id = claimable.id
     RETURNING o.*`,
    [schema, target, schema, limit, schema, owner, leaseMs],
  );
  return (rows as OutboxRow[]).sort((a, b) => Number(a.id) - Number(b.id)).map(toTask);
}

export async function completeTask(knex: Knex, schema: string, id: string, owner: string, outcome: string): Promise<void> {
  await completeTasks(knex, schema, owner, [{ id, outcome }]);
}

export async function retryTaskLater(knex: Knex, schema: string, id: string, owner: string, error: string, delayMs: number): Promise<void> {
  await knex.withSchema(schema).table('outbox').where({ id, lease_owner: owner }).update({
    status: 'pending',
    last_error: error,
    lease_until: null,
    next_attempt_at: knex.raw(`now() + (? * interval '1 millisecond')`, [delayMs]),
  });
}

export async function markTaskDead(knex: Knex, schema: string, id: string, owner: string, error: string): Promise<void> {
  await knex.withSchema(schema).table('outbox').where({ id, lease_owner: owner }).update({ status: 'dead', last_error: error, lease_until: null, done_at: knex.fn.now() });
}

/** Tasks not yet carried out (pending or in flight), in the outbox or in apply intents. */
export async function outboxDepth(knex: Knex, schema: string): Promise<number> {
  // Intents counted by their id arrays, not by expanding their json (read every 500 ms, and intents pile up in a backlog):
  // a task both spilled and still in its intent counts twice until the intent is swept, a fraction of a second.
  const { rows } = await knex.raw(
    `SELECT (SELECT count(*) FROM ??.outbox WHERE status IN ('pending', 'inflight'))
       + (SELECT coalesce(sum(cardinality(task_ids)), 0) FROM ??.apply_intents) AS n`,
    [schema, schema],
  );
  return Number((rows as Array<{ n: string | number }>)[0]?.n ?? 0);
}

/** Superseded tasks are kept as history (see completeTasks); an hour of it is enough. */
export async function pruneDoneTasks(knex: Knex, schema: string, olderThanMs: number): Promise<number> {
  return knex.withSchema(schema).table('outbox').where('status', 'done').andWhere('done_at', '<', new Date(Date.now() - olderThanMs)).delete();
}

interface OutboxRow {
  id: string;
  target: string;
  entity: string;
  key: string;
  op: 'upsert' | 'delete';
  fields: ApplyTask['fields'];
  expected: ApplyTask['expected'];
  record: ApplyTask['record'];
  reason: ApplyTask['reason'];
  correlation_id: string;
  commit_ms: string | null;
  attempts: number;
  created_at: Date;
}

function toTask(row: OutboxRow): ApplyTask {
  return {
    id: String(row.id),
    target: row.target,
    entity: row.entity,
    key: row.key,
    op: row.op,
    fields: row.fields,
    expected: row.expected,
    record: row.record,
    reason: row.reason,
    correlationId: row.correlation_id,
    commitTimeMs: row.commit_ms === null || row.commit_ms === undefined ? null : Number(row.commit_ms),
    // attempts before this one: the claim counted this one already
    attempts: row.attempts - 1,
    createdAtMs: new Date(row.created_at).getTime(),
  };
}

/**
 * Finishes many tasks at once. The outbox is a queue: a task carried out
 * (applied, already applied, deleted) is removed — its history is in the
 * metrics and logs, and an UPDATE to 'done' cost a new row version with all
 * its jsonb on every change. A superseded task (the target changed under
 * tandem, which is the exception) is kept as 'done' with its outcome for
 * inspection, and pruned after an hour. Dead tasks are never removed here.
 */
export async function completeTasks(knex: Knex, schema: string, owner: string, done: Array<{ id: string; outcome: string }>): Promise<void> {
  if (done.length === 0) return;
  const kept = done.filter((d) => d.outcome === 'superseded');
  const removed = done.filter((d) => d.outcome !== 'superseded');
  if (removed.length > 0) {
    await knex.raw(`DELETE FROM ??.outbox o WHERE o.id = ANY(?::bigint[]) AND o.lease_owner = ? AND o.status = 'inflight'`, [schema, removed.map((d) => d.id), owner]);
  }
  if (kept.length > 0) {
    await knex.raw(
      `UPDATE ??.outbox o SET status = 'done', outcome = d.outcome, done_at = now(), lease_until = NULL
       FROM unnest(?::bigint[], ?::text[]) AS d(id, outcome)
       WHERE o.id = d.id AND o.lease_owner = ?`,
      [schema, kept.map((d) => d.id), kept.map((d) => d.outcome), owner],
    );
  }
}

/**
 * A task the target refused for good, kept as the head of its record's
 * queue for that target (an open exception): not claimable, and not dead,
 * so the record's later tasks fold into it (`foldIntoHeld`).
 */
export async function holdTask(trx: Knex.Transaction, schema: string, id: string, owner: string, error: string): Promise<void> {
  await trx.withSchema(schema).table('outbox').where({ id, lease_owner: owner }).update({ status: 'held', last_error: error, lease_until: null, lease_owner: null });
}

/** What a held task becomes with later tasks of its record folded in (see `foldTasks` in apply). */
export interface FoldedTask {
  op: ApplyTask['op'];
  fields: ApplyTask['fields'];
  expected: ApplyTask['expected'];
  record: ApplyTask['record'];
  reason: ApplyTask['reason'];
}

/** The held task, locked; null when it is no longer held (retried, discarded). */
export async function lockHeldTask(trx: Knex.Transaction, schema: string, id: string): Promise<ApplyTask | null> {
  const row = (await trx.withSchema(schema).table('outbox').where({ id, status: 'held' }).forUpdate().first()) as OutboxRow | undefined;
  return row ? toTask({ ...row, attempts: row.attempts + 1 }) : null;
}

/**
 * The open tasks queued after a held task for its record and target, locked,
 * in order; null when one of them is leased by another instance (it is being
 * applied: fold later).
 */
export async function laterOpenTasks(trx: Knex.Transaction, schema: string, held: ApplyTask, owner: string): Promise<ApplyTask[] | null> {
  const rows = (await trx.withSchema(schema).table('outbox')
    .where({ target: held.target, entity: held.entity, key: held.key }).andWhere('id', '>', held.id).whereIn('status', ['pending', 'inflight'])
    // Exception write-backs (another exception's state, in this system's row) are not data: never folded.
    .whereNot('reason', 'exception')
    .orderBy('id').forUpdate()) as Array<OutboxRow & { status: string; lease_owner: string | null }>;
  if (rows.some((r) => r.status === 'inflight' && r.lease_owner !== owner)) return null;
  return rows.map((r) => toTask({ ...r, attempts: r.attempts + 1 }));
}

/**
 * Replaces the held task by the fold of it and the later tasks: a new task
 * (a new id, so a REST target does not answer its idempotency key with the
 * refusal it cached), due now — one more try with the record's latest state.
 * The held and the folded tasks (pending, or leased by `owner`) are removed; the open
 * exception and its open letter follow the new task. Returns its id.
 */
export async function foldIntoHeld(trx: Knex.Transaction, schema: string, held: ApplyTask, folded: FoldedTask, absorbed: string[], owner: string): Promise<string> {
  const [row]: Array<{ id: string }> = await trx.withSchema(schema).table('outbox').insert({
    target: held.target, entity: held.entity, key: held.key, op: folded.op,
    fields: JSON.stringify(folded.fields), expected: JSON.stringify(folded.expected), record: JSON.stringify(folded.record),
    reason: folded.reason, correlation_id: held.correlationId, commit_ms: held.commitTimeMs ?? null,
  }, ['id']);
  const id = String(row!.id);
  await trx.withSchema(schema).table('outbox').where({ id: held.id, status: 'held' }).delete();
  if (absorbed.length > 0) await trx.raw(`DELETE FROM ??.outbox WHERE id = ANY(?::bigint[]) AND (status = 'pending' OR lease_owner = ?)`, [schema, absorbed, owner]);
  await trx.withSchema(schema).table('exceptions').where({ task_id: held.id, status: 'open' }).update({ task_id: id });
  await trx.withSchema(schema).table('dead_letters').where({ task_id: held.id, status: 'open' }).update({ task_id: id });
  return id;
}

/** Age of the oldest open task's source commit per entity (update lag), in seconds. */
export async function updateLag(knex: Knex, schema: string): Promise<Array<{ entity: string; seconds: number }>> {
  // Of the intents only the oldest is read (it holds the oldest tasks): expanding every intent of a backlog on each scrape would cost the state store more than the lag is worth.
  const { rows } = await knex.raw(
    `SELECT entity, (extract(epoch FROM now()) * 1000 - min(commit_ms))::float8 / 1000 AS seconds
     FROM (
       SELECT entity, commit_ms FROM ??.outbox WHERE status IN ('pending', 'inflight', 'held')
       UNION ALL
       SELECT t.entity, t.commit_ms FROM (SELECT tasks FROM ??.apply_intents ORDER BY id LIMIT 1) AS i,
         json_to_recordset(i.tasks) AS t(entity text, commit_ms bigint)
     ) AS open
     WHERE commit_ms IS NOT NULL GROUP BY entity`,
    [schema, schema],
  );
  return (rows as Array<{ entity: string; seconds: number }>).map((r) => ({ entity: r.entity, seconds: Math.max(0, r.seconds) }));
}
