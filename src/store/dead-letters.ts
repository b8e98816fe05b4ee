import type { Knex } from 'knex';

export interface DeadLetter {
  kind: 'event' | 'task';
  system?: string | null;
  table?: string | null;
  position?: string | null;
  correlationId?: string | null;
  taskId?: string | null;
  errorCode: string;
  error: string;
  /** Everything needed to understand and replay it: the raw event, or the task with its attempts. */
  payload: unknown;
  attempts?: number;
}

export async function parkDeadLetters(db: Knex | Knex.Transaction, schema: string, letters: DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  await db.withSchema(schema).table('dead_letters').insert(
    letters.map((l) => ({
      kind: l.kind,
      system: l.system ?? null,
      source_table: l.table ?? null,
      position: l.position ?? null,
      correlation_id: l.correlationId ?? null,
      task_id: l.taskId ?? null,
      error_code: l.errorCode,
      error: l.error,
      payload: JSON.stringify(l.payload),
      attempts: l.attempts ?? 0,
    })),
  );
}

/** Parks one letter and returns its id. */
export async function parkDeadLetter(db: Knex | Knex.Transaction, schema: string, l: DeadLetter): Promise<string> {
  const [row]: Array<{ id: string }> = await db.withSchema(schema).table('dead_letters').insert({
    kind: l.kind, system: l.system ?? null, source_table: l.table ?? null, position: l.position ?? null, correlation_id: l.correlationId ?? null,
    task_id: l.taskId ?? null, error_code: l.errorCode, error: l.error, payload: JSON.stringify(l.payload), attempts: l.attempts ?? 0,
  }, ['id']);
  return String(row!.id);
}

export async function openDeadLetters(knex: Knex, schema: string): Promise<number> {
  const row = await knex.withSchema(schema).table('dead_letters').where({ status: 'open' }).count<{ count: string }[]>('* as count').first();
  return Number(row?.count ?? 0);
}

export type DeadLetterStatus = 'open' | 'retried' | 'discarded';

/** A dead letter as stored, for `tandem dlq`. */
export interface DeadLetterRow {
  id: string;
  kind: 'event' | 'task';
  system: string | null;
  table: string | null;
  position: string | null;
  correlationId: string | null;
  taskId: string | null;
  errorCode: string;
  error: string;
  payload: unknown;
  attempts: number;
  status: DeadLetterStatus;
  createdAt: Date;
  resolvedAt: Date | null;
  resolvedBy: string | null;
  resolution: string | null;
  reason: string | null;
}

export interface DeadLetterFilter {
  kind?: 'event' | 'task';
  system?: string;
  status?: DeadLetterStatus;
  /** Parked at or after. */
  since?: Date;
  code?: string;
}

/** Letters matching the filter, oldest first (ids ascending), at most `limit`. */
export async function queryDeadLetters(db: Knex | Knex.Transaction, schema: string, filter: DeadLetterFilter, limit: number): Promise<DeadLetterRow[]> {
  const query = db.withSchema(schema).table('dead_letters').select();
  if (filter.kind) query.where('kind', filter.kind);
  if (filter.system) query.where('system', filter.system);
  if (filter.status) query.where('status', filter.status);
  if (filter.since) query.where('created_at', '>=', filter.since);
  if (filter.code) query.where('error_code', filter.code);
  const rows: StoredLetter[] = await query.orderBy('id').limit(limit);
  return rows.map(fromStoredLetter);
}

/** One letter; `lock` takes a row lock so two operators cannot deal with it at once. */
export async function getDeadLetter(db: Knex | Knex.Transaction, schema: string, id: string, lock = false): Promise<DeadLetterRow | null> {
  const query = db.withSchema(schema).table('dead_letters').where({ id }).first();
  if (lock) query.forUpdate();
  const row = (await query) as StoredLetter | undefined;
  return row ? fromStoredLetter(row) : null;
}

/** Records how an open letter was dealt with. Returns false when it was no longer open. */
export async function resolveDeadLetter(
  trx: Knex.Transaction, schema: string, id: string,
  outcome: { status: Exclude<DeadLetterStatus, 'open'>; by: string; resolution: string; reason?: string | null },
): Promise<boolean> {
  const updated = await trx.withSchema(schema).table('dead_letters').where({ id, status: 'open' }).update({
    status: outcome.status, resolved_by: outcome.by, resolved_at: trx.fn.now(), resolution: outcome.resolution, reason: outcome.reason ?? null,
  });
  return updated > 0;
}

export const AGE_BUCKETS = ['<1h', '1h-24h', '1d-7d', '>7d'] as const;
export type AgeBucket = (typeof AGE_BUCKETS)[number];

/** Open dead letters by age: the oldest one's age, and counts per age bucket and kind. */
export interface DeadLetterAging {
  oldestAgeSeconds: number;
  open: Array<{ ageBucket: AgeBucket; kind: string; count: number }>;
}

/** One grouped query over the open letters (index dead_letters_open), for the metrics scrape. */
export async function deadLetterAging(knex: Knex, schema: string): Promise<DeadLetterAging> {
  const { rows } = await knex.raw(
    `SELECT kind,
       CASE WHEN age < 3600 THEN '<1h' WHEN age < 86400 THEN '1h-24h' WHEN age < 604800 THEN '1d-7d' ELSE '>7d' END AS age_bucket,
       count(*)::int AS count, max(age)::float8 AS oldest
     FROM (SELECT kind, extract(epoch FROM now() - created_at) AS age FROM ??.dead_letters WHERE status = 'open') open
     GROUP BY 1, 2`,
    [schema],
  );
  const grouped = rows as Array<{ kind: string; age_bucket: AgeBucket; count: number; oldest: number }>;
  return {
    oldestAgeSeconds: Math.max(0, ...grouped.map((r) => r.oldest)),
    open: grouped.map((r) => ({ ageBucket: r.age_bucket, kind: r.kind, count: r.count })),
  };
}

interface StoredLetter {
  id: string;
  kind: 'event' | 'task';
  system: string | null;
  source_table: string | null;
  position: string | null;
  correlation_id: string | null;
  task_id: string | null;
  error_code: string;
  error: string;
  payload: unknown;
  attempts: number;
  status: DeadLetterStatus;
  created_at: Date;
  resolved_at: Date | null;
  resolved_by: string | null;
  resolution: string | null;
  reason: string | null;
}

function fromStoredLetter(row: StoredLetter): DeadLetterRow {
  return {
    id: String(row.id), kind: row.kind, system: row.system, table: row.source_table, position: row.position,
    correlationId: row.correlation_id, taskId: row.task_id === null ? null : String(row.task_id),
    errorCode: row.error_code, error: row.error, payload: row.payload, attempts: row.attempts, status: row.status,
    createdAt: new Date(row.created_at), resolvedAt: row.resolved_at ? new Date(row.resolved_at) : null,
    resolvedBy: row.resolved_by, resolution: row.resolution, reason: row.reason,
  };
}

/** What `requeueDeadTask` did with a task letter's outbox task. */
export type Requeued =
  | { action: 'requeued'; taskId: string }
  | { action: 'reinserted'; taskId: string }
  | { action: 'not-dead'; taskId: string; status: string };

/**
 * Puts a dead outbox task back: `pending`, attempts reset, due now. A task
 * that is gone (removed by hand or a restore) is inserted afresh from the
 * copy the letter carries. A task that is not dead is left alone.
 */
export async function requeueDeadTask(trx: Knex.Transaction, schema: string, taskId: string | null, task: StoredTaskCopy | null): Promise<Requeued> {
  if (taskId !== null) {
    // `held`: the head of an open exception (see exceptions.ts); retried the same way.
    const updated: Array<{ id: string }> = await trx.withSchema(schema).table('outbox').where({ id: taskId }).whereIn('status', ['dead', 'held']).update({
      status: 'pending', attempts: 0, next_attempt_at: trx.fn.now(), lease_owner: null, lease_until: null, done_at: null, outcome: null,
    }, ['id']);
    if (updated.length > 0) return { action: 'requeued', taskId };
    const existing = await trx.withSchema(schema).table('outbox').where({ id: taskId }).first('status');
    if (existing) return { action: 'not-dead', taskId, status: existing.status as string };
  }
  if (!task) throw new Error(`the letter carries no copy of task ${taskId ?? '(unknown)'} to queue again`);
  const [row]: Array<{ id: string }> = await trx.withSchema(schema).table('outbox').insert({
    target: task.target, entity: task.entity, key: task.key, op: task.op,
    fields: JSON.stringify(task.fields), expected: JSON.stringify(task.expected), record: JSON.stringify(task.record),
    reason: task.reason, correlation_id: task.correlationId,
  }, ['id']);
  return { action: 'reinserted', taskId: String(row!.id) };
}

/** The task as a task letter's payload holds it (`payload.task`). */
export interface StoredTaskCopy {
  target: string;
  entity: string;
  key: string;
  op: string;
  fields: unknown;
  expected: unknown;
  record: unknown;
  reason: string;
  correlationId: string;
}
