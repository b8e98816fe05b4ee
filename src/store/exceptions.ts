/**
 * Exceptions: a record a target refused for good, one open row per record
 * and target (see migration 007). The refused task stays in the outbox as
 * `held`; later tasks of the record for that target are folded into it.
 */
import type { Knex } from 'knex';
import type { Fields } from '../transform';
import { SHADOW_SQL } from './record-row';

export interface OpenException {
  id: string;
  target: string;
  entity: string;
  key: string;
  origin: string | null;
  fields: string[];
  errorCode: string;
  error: string;
  taskId: string;
  deadLetterId: string | null;
  failures: number;
  openedAt: Date;
}

interface ExceptionRow {
  id: string;
  target: string;
  entity: string;
  key: string;
  origin: string | null;
  fields: string[];
  error_code: string;
  error: string;
  task_id: string;
  dead_letter_id: string | null;
  failures: number;
  opened_at: Date;
}

function fromRow(row: ExceptionRow): OpenException {
  return {
    id: String(row.id), target: row.target, entity: row.entity, key: row.key, origin: row.origin, fields: row.fields,
    errorCode: row.error_code, error: row.error, taskId: String(row.task_id), deadLetterId: row.dead_letter_id === null ? null : String(row.dead_letter_id),
    failures: row.failures, openedAt: new Date(row.opened_at),
  };
}

/** Open exceptions of `target` for the given records (index exceptions_open_record). */
export async function openExceptionsFor(db: Knex | Knex.Transaction, schema: string, target: string, records: Array<{ entity: string; key: string }>): Promise<OpenException[]> {
  if (records.length === 0) return [];
  const { rows } = await db.raw(
    `SELECT e.* FROM ??.exceptions e JOIN unnest(?::text[], ?::text[]) AS r(entity, key) USING (entity, key)
     WHERE e.target = ? AND e.status = 'open'`,
    [schema, records.map((r) => r.entity), records.map((r) => r.key), target],
  );
  return (rows as ExceptionRow[]).map(fromRow);
}

/** The open exception whose held task is `taskId`, locked. */
export async function exceptionOfTask(trx: Knex.Transaction, schema: string, taskId: string): Promise<OpenException | null> {
  const row = (await trx.withSchema(schema).table('exceptions').where({ task_id: taskId, status: 'open' }).forUpdate().first()) as ExceptionRow | undefined;
  return row ? fromRow(row) : null;
}

/** An exception as opened: the store assigns its id, counts failures from 1 and stamps the time. */
export type NewException = Omit<OpenException, 'id' | 'failures' | 'openedAt'>;

export async function insertException(trx: Knex.Transaction, schema: string, e: NewException): Promise<string> {
  const [row]: Array<{ id: string }> = await trx.withSchema(schema).table('exceptions').insert({
    target: e.target, entity: e.entity, key: e.key, origin: e.origin, fields: JSON.stringify(e.fields), error_code: e.errorCode, error: e.error,
    task_id: e.taskId, dead_letter_id: e.deadLetterId,
  }, ['id']);
  return String(row!.id);
}

/** The held task failed again: the same exception, with the newest error (and letter, when a new one was parked). */
export async function exceptionFailedAgain(
  trx: Knex.Transaction, schema: string, id: string, update: { fields: string[]; errorCode: string; error: string; deadLetterId: string | null },
): Promise<void> {
  await trx.withSchema(schema).table('exceptions').where({ id }).update({
    fields: JSON.stringify(update.fields), error_code: update.errorCode, error: update.error, dead_letter_id: update.deadLetterId,
    failures: trx.raw('failures + 1'), updated_at: trx.fn.now(),
  });
}

export async function closeException(trx: Knex.Transaction, schema: string, id: string, resolution: string): Promise<void> {
  await trx.withSchema(schema).table('exceptions').where({ id, status: 'open' }).update({ status: 'resolved', resolution, resolved_at: trx.fn.now(), updated_at: trx.fn.now() });
}

/**
 * A letter of an exception discarded (`tandem dlq discard`): the exception
 * is closed and its held task given up (dead), so the record's later tasks
 * for that target are applied again.
 */
export async function discardExceptionOfLetter(trx: Knex.Transaction, schema: string, deadLetterId: string, resolution: string): Promise<void> {
  const closed: Array<{ task_id: string }> = await trx.withSchema(schema).table('exceptions').where({ dead_letter_id: deadLetterId, status: 'open' })
    .update({ status: 'resolved', resolution, resolved_at: trx.fn.now(), updated_at: trx.fn.now() }, ['task_id']);
  for (const { task_id } of closed) await trx.withSchema(schema).table('outbox').where({ id: task_id, status: 'held' }).update({ status: 'dead', done_at: trx.fn.now() });
}

/**
 * What the target really holds after refusing `fields`: its shadow in the
 * record goes back to the values it held before (`expected`), or loses the
 * fields it never had. In SQL, under the record's row lock, so a concurrent
 * resolve-stage write is neither lost nor overwritten.
 */
export async function restoreShadow(trx: Knex.Transaction, schema: string, entity: string, key: string, target: string, fields: string[], expected: Fields): Promise<void> {
  const held = Object.fromEntries(fields.filter((f) => f in expected).map((f) => [f, expected[f]]));
  await trx.raw(
    `UPDATE ??.records SET shadows = jsonb_set(shadows, ARRAY[?::text], (coalesce(${SHADOW_SQL}, '{}'::jsonb) - ?::text[]) || ?::jsonb)
     WHERE entity = ? AND key = ?`,
    [schema, target, target, target, fields, JSON.stringify(held), entity, key],
  );
}

/** The target took `fields` after all: its shadow holds them. */
export async function confirmShadow(trx: Knex.Transaction, schema: string, entity: string, key: string, target: string, fields: Fields): Promise<void> {
  await trx.raw(
    `UPDATE ??.records SET shadows = jsonb_set(shadows, ARRAY[?::text], coalesce(${SHADOW_SQL}, '{}'::jsonb) || ?::jsonb) WHERE entity = ? AND key = ?`,
    [schema, target, target, target, JSON.stringify(fields), entity, key],
  );
}

/** Open exceptions per entity and target: how many, and the oldest one's age (metrics). */
export async function exceptionAging(knex: Knex, schema: string): Promise<Array<{ entity: string; system: string; open: number; oldestAgeSeconds: number }>> {
  const { rows } = await knex.raw(
    `SELECT entity, target AS system, count(*)::int AS open, max(extract(epoch FROM now() - opened_at))::float8 AS oldest
     FROM ??.exceptions WHERE status = 'open' GROUP BY 1, 2`,
    [schema],
  );
  return (rows as Array<{ entity: string; system: string; open: number; oldest: number }>).map((r) => ({ entity: r.entity, system: r.system, open: r.open, oldestAgeSeconds: r.oldest }));
}

/** Open exceptions, oldest first (`tandem dlq exceptions`). */
export async function listOpenExceptions(knex: Knex, schema: string, limit: number): Promise<OpenException[]> {
  const rows = (await knex.withSchema(schema).table('exceptions').where({ status: 'open' }).orderBy('id').limit(limit)) as ExceptionRow[];
  return rows.map(fromRow);
}
