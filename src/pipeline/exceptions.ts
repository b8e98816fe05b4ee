/**
 * Exceptions on every target: what the apply stage does when a target
 * refuses a task for good, when later tasks of that record arrive, and when
 * the record finally goes through.
 *
 * - Refused: the task is held (the head of its record's queue for that
 *   target), one exception is opened for the record (or the open one
 *   updated), one dead letter is parked (a new one only when the previous
 *   letter was dealt with), the record's shadow of the target goes back to
 *   what the target really holds, the refusal is logged in the conflict log
 *   (`target-rejected`), the exception state is written back to the
 *   originating row where its mapping has exception columns, and the alert
 *   webhook is called.
 * - Later tasks of the record for that target fold into the held task, which
 *   is tried once more with the record's latest state: a value corrected at
 *   source goes through without anyone touching the dead letter.
 * - Went through (after a fold, or `tandem dlq retry`): the exception and its
 *   letter are closed, the shadow confirmed, the exception columns cleared,
 *   and the resolution logged (`exception-resolved`).
 */
import type { Knex } from 'knex';
import { foldTasks, rejectedFields, type ApplyOutcome, type ApplyTask } from '../apply';
import type { ConflictEntry } from '../conflict';
import { ApplyError, errorMessage, TandemError } from '../errors';
import type { Logger } from '../log';
import {
  appendConflicts, closeException, confirmShadow, enqueueTasks, exceptionFailedAgain, foldIntoHeld, getDeadLetter, holdTask, insertException,
  laterOpenTasks, lockHeldTask, openExceptionsFor, parkDeadLetter, resolveDeadLetter, restoreShadow, retryTaskLater, type NewTask, type OpenException,
} from '../store';
import type { Fields, MappingRegistry } from '../transform';
import type { PipelineMetrics } from './metrics';

export interface ExceptionDeps {
  target: string;
  store: Knex;
  schema: string;
  registry: MappingRegistry;
  instanceId: string;
  rulesVersion: string;
  /** Where a new exception is POSTed (a secret URL); none: only logged. */
  alertWebhook?: string;
  metrics: PipelineMetrics;
  logger: Logger;
}

/** Longest error text written back to an originating row. */
const WRITTEN_ERROR_LENGTH = 500;

/**
 * Folds claimed tasks of records with an open exception for this target into
 * the held task. Returns the tasks to apply, and the open exceptions whose
 * held task is among them (being tried again).
 */
export async function foldIntoExceptions(
  tasks: ApplyTask[], deps: ExceptionDeps, beforeFold?: (folding: ApplyTask[]) => Promise<void>,
): Promise<{ toApply: ApplyTask[]; retrying: Map<string, OpenException> }> {
  const candidates = tasks.filter((t) => t.reason !== 'exception');
  const open = await openExceptionsFor(deps.store, deps.schema, deps.target, candidates.map((t) => ({ entity: t.entity, key: t.key })));
  const retrying = new Map<string, OpenException>();
  if (open.length === 0) return { toApply: tasks, retrying };
  const byRecord = new Map(open.map((e) => [`${e.entity}\u0000${e.key}`, e]));
  const toApply: ApplyTask[] = [];
  const folds = new Map<string, { exception: OpenException; later: ApplyTask[] }>();
  for (const task of tasks) {
    const exception = task.reason === 'exception' ? undefined : byRecord.get(`${task.entity}\u0000${task.key}`);
    if (!exception) toApply.push(task);
    else if (exception.taskId === task.id) {
      retrying.set(task.id, exception);
      toApply.push(task);
    } else {
      const fold = folds.get(exception.id) ?? { exception, later: [] };
      fold.later.push(task);
      folds.set(exception.id, fold);
    }
  }
  await beforeFold?.([...folds.values()].flatMap((f) => f.later));
  for (const { exception, later } of folds.values()) await foldOne(exception, later, deps);
  return { toApply, retrying };
}

async function foldOne(exception: OpenException, claimed: ApplyTask[], deps: ExceptionDeps): Promise<void> {
  const folded = await deps.store.transaction(async (trx) => {
    const head = await lockHeldTask(trx, deps.schema, exception.taskId);
    if (!head) return 0;
    // Every open task after the held one, not only those claimed now: the fold takes a new id, after all of them.
    const later = await laterOpenTasks(trx, deps.schema, head, deps.instanceId);
    if (!later || later.length === 0) return 0;
    await foldIntoHeld(trx, deps.schema, head, foldTasks(head, later), later.map((t) => t.id), deps.instanceId);
    return later.length;
  });
  if (folded === 0) {
    // The held task is being retried already (dlq retry), or a later task is in another instance's hands: these wait their turn.
    for (const task of claimed) await retryTaskLater(deps.store, deps.schema, task.id, deps.instanceId, 'waits behind its record\'s exception', 0);
    return;
  }
  for (let i = 0; i < folded; i++) deps.metrics.taskFinished(deps.target, 'folded');
  deps.logger.info('later changes folded into the record\'s open exception; trying its latest state', {
    correlationId: claimed.at(-1)!.correlationId, target: deps.target, entity: exception.entity, key: exception.key, exceptionId: exception.id, folded,
  });
}

/** A task the target refused for good (not an exception write-back itself). */
export async function taskRefused(task: ApplyTask, error: unknown, attempts: number, known: OpenException | undefined, deps: ExceptionDeps): Promise<void> {
  const message = errorMessage(error);
  const errorCode = error instanceof TandemError ? error.code : 'APPLY_FAILED';
  const mapping = deps.registry.forSystemEntity(deps.target, task.entity);
  const fields = task.op === 'delete' ? [] : rejectedFields(error, mapping, task.fields);
  const origin = originOf(task);
  const opened = await deps.store.transaction(async (trx) => {
    const existing = known ?? (await openExceptionsFor(trx, deps.schema, deps.target, [task]))[0];
    await holdTask(trx, deps.schema, task.id, deps.instanceId, message);
    const letterOpen = existing?.deadLetterId ? (await getDeadLetter(trx, deps.schema, existing.deadLetterId))?.status === 'open' : false;
    const deadLetterId = letterOpen ? existing!.deadLetterId : await parkDeadLetter(trx, deps.schema, {
      kind: 'task', system: task.target, correlationId: task.correlationId, taskId: task.id, errorCode, error: message,
      payload: { task, error: error instanceof TandemError ? error.toJSON() : message, exception: existing ? { id: existing.id, failures: existing.failures + 1 } : 'new' },
      attempts,
    });
    let exceptionId: string;
    if (existing && existing.taskId === task.id) {
      exceptionId = existing.id;
      await exceptionFailedAgain(trx, deps.schema, existing.id, { fields, errorCode, error: message, deadLetterId });
    } else {
      exceptionId = await insertException(trx, deps.schema, { target: deps.target, entity: task.entity, key: task.key, origin, fields, errorCode, error: message, taskId: task.id, deadLetterId });
    }
    if (task.op === 'upsert') await restoreShadow(trx, deps.schema, task.entity, task.key, deps.target, Object.keys(task.fields), task.expected);
    const writeBack = exceptionWriteBack(task, error, origin, { status: 'rejected', error: message }, deps);
    if (writeBack) await enqueueTasks(trx, deps.schema, [writeBack]);
    const rule = `${deps.target} refused the change (exception #${exceptionId}${existing ? `, failure ${existing.failures + 1}` : ''}): ${message}`;
    await appendConflicts(trx, deps.schema, refusalEntries(task, fields, origin, mapping?.table ?? deps.target, rule, 'target-rejected', writeBack !== null), deps.rulesVersion);
    return { exceptionId, deadLetterId, isNew: !existing, writtenBack: writeBack !== null };
  });
  deps.metrics.taskFinished(task.target, 'held');
  const log = { correlationId: task.correlationId, target: task.target, entity: task.entity, key: task.key, taskId: task.id, exceptionId: opened.exceptionId, deadLetterId: opened.deadLetterId, fields, error: message };
  deps.logger.error(opened.isNew ? 'target refused the change: exception opened, later changes of the record wait behind it' : 'target refused the record\'s latest state again: the exception stays open', log);
  // REST lines alert from the target itself (with the line's context).
  if (opened.isNew && !(error instanceof ApplyError && error.code === 'REST_LINE_REJECTED')) {
    await sendAlert(deps, task, { kind: 'tandem.exception', exceptionId: opened.exceptionId, deadLetterId: opened.deadLetterId, origin, fields, error: message, writtenBack: opened.writtenBack });
  }
}

/** Exceptions whose held task went through: closed, with everything they had set undone. */
export async function exceptionsResolved(done: Array<{ task: ApplyTask; outcome: ApplyOutcome }>, retrying: Map<string, OpenException>, deps: ExceptionDeps): Promise<void> {
  for (const { task, outcome } of done) {
    const exception = retrying.get(task.id);
    if (!exception) continue;
    const origin = exception.origin;
    const mapping = deps.registry.forSystemEntity(deps.target, task.entity);
    await deps.store.transaction(async (trx) => {
      const resolution = `applied the record's latest state (${outcome.status}) after ${exception.failures} refusal${exception.failures === 1 ? '' : 's'}`;
      await closeException(trx, deps.schema, exception.id, resolution);
      if (exception.deadLetterId) await resolveDeadLetter(trx, deps.schema, exception.deadLetterId, { status: 'retried', by: 'tandem', resolution });
      if (task.op === 'upsert' && outcome.status !== 'superseded') await confirmShadow(trx, deps.schema, task.entity, task.key, deps.target, task.fields);
      const writeBack = exceptionWriteBack(task, null, origin, { status: 'resolved', error: null }, deps);
      if (writeBack) await enqueueTasks(trx, deps.schema, [writeBack]);
      const rule = `${deps.target} took ${task.entity} ${task.key}: exception #${exception.id} resolved (${outcome.status})`;
      await appendConflicts(trx, deps.schema, refusalEntries(task, exception.fields, origin, mapping?.table ?? deps.target, rule, 'exception-resolved', writeBack !== null), deps.rulesVersion);
    });
    deps.logger.warn('exception resolved: the target took the record\'s latest state', { correlationId: task.correlationId, target: deps.target, entity: task.entity, key: task.key, exceptionId: exception.id });
  }
}

/** The system a task's change came from (correlation ids are `<system>@<position>`). */
function originOf(task: ApplyTask): string | null {
  const at = task.correlationId.indexOf('@');
  return at > 0 ? task.correlationId.slice(0, at) : null;
}

/**
 * The write-back of an exception's state to the originating row: through
 * the origin mapping's exception columns (any SQL system), or — for a REST
 * line the target refused — the canonical exception fields the REST
 * endpoint names (`writeBack` on the error). Null when neither applies.
 */
function exceptionWriteBack(task: ApplyTask, error: unknown, origin: string | null, state: { status: 'rejected' | 'resolved'; error: string | null }, deps: ExceptionDeps): NewTask | null {
  if (!origin || origin === deps.target) return null;
  const mapping = deps.registry.forSystemEntity(origin, task.entity);
  if (error instanceof ApplyError && error.writeBack) return restLineWriteBack(task, error.writeBack, origin, deps);
  const columns = mapping?.exceptionColumns;
  if (!columns) return null;
  const fields: Fields = state.status === 'rejected'
    ? { status: columns.rejectedValue, error: `${deps.target}: ${(state.error ?? '').slice(0, WRITTEN_ERROR_LENGTH)}` }
    : { status: columns.resolvedValue, error: null };
  return { target: origin, entity: task.entity, key: task.key, op: 'upsert', fields, expected: {}, record: {}, reason: 'exception', correlationId: task.correlationId, commitTimeMs: null };
}

function restLineWriteBack(task: ApplyTask, writeBack: NonNullable<ApplyError['writeBack']>, origin: string, deps: ExceptionDeps): NewTask | null {
  const { entity, key, fields } = writeBack;
  const mapping = deps.registry.forSystemEntity(origin, entity);
  const writable = new Set(mapping?.fields.filter((f) => !f.readOnly).map((f) => f.field) ?? []);
  const missing = Object.keys(fields).filter((f) => !writable.has(f));
  if (!mapping || missing.length > 0) {
    deps.logger.warn('the exception cannot be written back: the originating system does not map its fields', { correlationId: task.correlationId, entity, key, origin, missing });
    return null;
  }
  return { target: origin, entity, key, op: 'upsert', fields, expected: {}, record: { ...task.record, ...task.fields, ...fields }, reason: 'correct', correlationId: task.correlationId };
}

/** One conflict-log entry per field the refusal is about (one `*` entry for a refused delete). */
function refusalEntries(task: ApplyTask, fields: string[], origin: string | null, table: string, rule: string, outcome: 'target-rejected' | 'exception-resolved', corrected: boolean): ConflictEntry[] {
  const at = task.correlationId.indexOf('@');
  const position = at > 0 ? task.correlationId.slice(at + 1) : task.correlationId;
  const names = fields.length > 0 ? fields : ['*'];
  return names.map((field) => {
    const attempted = field === '*' ? null : (task.fields[field] ?? null);
    const held = field in task.expected ? task.expected[field] : undefined;
    return {
      entity: task.entity, key: task.key, field, system: origin ?? task.target, table, position, txId: null,
      commitTimeMs: task.commitTimeMs ?? Date.now(), correlationId: task.correlationId,
      attempted, before: undefined, current: held,
      kept: outcome === 'exception-resolved' ? attempted : (held ?? null),
      rule, outcome,
      patch: field === '*' ? [{ op: 'remove', path: '' }] : [{ op: 'replace', path: `/${field}`, value: attempted }],
      corrected,
    };
  });
}

/** Alerts the webhook. A failed alert is logged: the exception itself is kept in any case. */
async function sendAlert(deps: ExceptionDeps, task: ApplyTask, body: Record<string, unknown>): Promise<void> {
  if (!deps.alertWebhook) return;
  const alert = { ...body, target: deps.target, entity: task.entity, key: task.key, correlationId: task.correlationId, taskId: task.id, at: new Date().toISOString() };
  try {
    const response = await fetch(deps.alertWebhook, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `exception-${String(body.exceptionId)}`, 'x-correlation-id': task.correlationId },
      body: JSON.stringify(alert),
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`webhook answered ${response.status}`);
  } catch (error) {
    deps.logger.error('alert webhook failed; the exception is still recorded', { correlationId: task.correlationId, target: deps.target, error: errorMessage(error) });
  }
}
