import type { Knex } from 'knex';
import type { ApplyOutcome, ApplyTarget, ApplyTask, BatchResult, Dedup, KeyAllocations } from '../apply';
import { ApplyError, classifyFailure, DependencyPendingError, errorMessage, isRetriable, isUnreachable, TandemError } from '../errors';
import type { Logger } from '../log';
import { Backoff, backoffDelay, sleep, withRetry, type RetryPolicy } from '../retry';
import { claimTasks, completeTasks, markTaskDead, parkDeadLetters, retryTaskLater, type KnexCrosswalk, type OpenException } from '../store';
import type { MappingRegistry } from '../transform';
import { forEachConcurrently } from './bounded-queue';
import { exceptionsResolved, foldIntoExceptions, taskRefused, type ExceptionDeps } from './exceptions';
import { flowBackAssignedKeys, logKeptDeletes } from './assigned-keys';
import type { HealthBoard } from './health';
import type { StallWatch } from './stall-watch';
import type { PipelineMetrics } from './metrics';

export interface ApplyStageDeps {
  target: string;
  sink: ApplyTarget;
  store: Knex;
  schema: string;
  registry: MappingRegistry;
  crosswalk: KnexCrosswalk;
  dedup: Dedup;
  instanceId: string;
  batchSize: number;
  concurrency: number;
  pollMs: number;
  leaseMs: number;
  retry: RetryPolicy;
  metrics: PipelineMetrics;
  logger: Logger;
  health?: HealthBoard;
  /** Version of the ownership rules (the conflict log records it with exception entries). */
  rulesVersion?: string;
  /** The system owning each entity's existence (a row of it found gone is not put back by a propagated change). */
  existenceOwner?: (entity: string) => string | undefined;
  /** Where keys allocated from this target are kept (mappings with an allocated key). */
  allocations?: KeyAllocations;
  /** Where new exceptions are POSTed. */
  alertWebhook?: string;
  /** Hears each round and chunk, so /readyz tells a stuck round (the outbox locked, a target hanging). */
  stalls?: StallWatch;
}

/** Tasks handed to the target in one call. */
const CHUNK = 100;

/**
 * Delivers one target's outbox tasks until `signal` aborts. A claim returns at
 * most one task per record, so the tasks of a claim can be written in
 * parallel and each record's writes still happen in order. A failing round
 * (the state store or the target away) is retried with backoff, never fatal:
 * claimed tasks that were not completed return to the outbox when their lease ends.
 */
export async function runApplyStage(deps: ApplyStageDeps, signal: AbortSignal): Promise<void> {
  const component = `apply:${deps.target}`;
  const backoff = new Backoff(deps.retry);
  deps.health?.set(component, 'ok');
  while (!signal.aborted) {
    try {
      const claimed = await (deps.stalls ? deps.stalls.around(component, () => applyRound(deps)) : applyRound(deps));
      if (!claimed) await sleep(deps.pollMs, signal);
      if (backoff.count > 0) {
        backoff.reset();
        deps.health?.set(component, 'ok');
        deps.logger.info('apply stage recovered', { target: deps.target });
      }
    } catch (error) {
      if (signal.aborted) break;
      const delayMs = backoff.next();
      const reason = errorMessage(error);
      deps.health?.set(component, 'degraded', `retrying after: ${reason}`);
      deps.logger.error('apply round failed; retrying', { target: deps.target, error: reason, kind: classifyFailure(error), failures: backoff.count, delayMs });
      await sleep(delayMs, signal);
    }
  }
}

/** One claim and the writes of what it claimed; false when there was nothing to claim. */
async function applyRound(deps: ApplyStageDeps): Promise<boolean> {
  const tasks = await claimTasks(deps.store, deps.schema, deps.target, deps.batchSize, deps.instanceId, deps.leaseMs);
  if (tasks.length === 0) return false;
  const { toApply, retrying } = await foldIntoExceptions(tasks, exceptionDeps(deps));
  await forEachConcurrently(chunksByEntity(toApply), deps.concurrency, async (chunk) => {
    await applyChunk(chunk, retrying, deps);
    deps.stalls?.progress(`apply:${deps.target}`);
  });
  return true;
}

function exceptionDeps(deps: ApplyStageDeps): ExceptionDeps {
  const { target, store, schema, registry, instanceId, metrics, logger, alertWebhook } = deps;
  return { target, store, schema, registry, instanceId, metrics, logger, alertWebhook, rulesVersion: deps.rulesVersion ?? 'unknown' };
}

function chunksByEntity(tasks: ApplyTask[]): ApplyTask[][] {
  const byEntity = new Map<string, ApplyTask[]>();
  for (const task of tasks) byEntity.set(task.entity, [...(byEntity.get(task.entity) ?? []), task]);
  const chunks: ApplyTask[][] = [];
  for (const group of byEntity.values()) for (let i = 0; i < group.length; i += CHUNK) chunks.push(group.slice(i, i + CHUNK));
  return chunks;
}

async function applyChunk(tasks: ApplyTask[], retrying: Map<string, OpenException>, deps: ApplyStageDeps): Promise<void> {
  const entity = tasks[0]!.entity;
  const applied = await Promise.all(tasks.map((t) => deps.dedup.wasApplied(t.id)));
  const done: Array<{ id: string; outcome: string }> = [];
  const todo: ApplyTask[] = [];
  tasks.forEach((task, i) => (applied[i] ? done.push({ id: task.id, outcome: 'already-applied' }) : todo.push(task)));

  const mapping = deps.registry.forSystemEntity(deps.target, entity);
  const results: BatchResult[] = mapping
    ? await deps.sink.applyBatch(todo, {
      mapping, crosswalk: deps.crosswalk, refMappings: (e) => deps.registry.forSystemEntity(deps.target, e),
      allocations: deps.allocations, ownsExistence: deps.existenceOwner?.(entity) === deps.target,
    })
    : todo.map((task) => ({ task, error: new TandemError(`system ${deps.target} has no mapping for entity ${entity}`, { system: deps.target, entity }) }));

  const succeeded = results.filter((r): r is { task: ApplyTask; outcome: ApplyOutcome } => r.outcome !== undefined);
  if (succeeded.length > 0) deps.health?.set(`apply:${deps.target}`, 'ok');
  // Before the tasks count as applied: a crash in between repeats these (each is idempotent), never skips them.
  if (mapping) await flowBackAssignedKeys(succeeded, mapping, deps);
  if (mapping) await logKeptDeletes(succeeded, mapping, deps);
  await exceptionsResolved(succeeded, retrying, exceptionDeps(deps));
  await Promise.all(succeeded.map((r) => deps.dedup.markApplied(r.task.id)));
  for (const r of succeeded) done.push({ id: r.task.id, outcome: r.outcome!.status });
  await completeTasks(deps.store, deps.schema, deps.instanceId, done);
  for (const { outcome } of done) deps.metrics.taskFinished(deps.target, outcome);
  for (const r of succeeded) deps.metrics.taskCompleted(r.task, deps.target);
  for (const r of results) if (r.error !== undefined) await failed(r.task, r.error, retrying, deps);
}

async function failed(task: ApplyTask, error: unknown, retrying: Map<string, OpenException>, deps: ApplyStageDeps): Promise<void> {
  const log = { correlationId: task.correlationId, target: task.target, entity: task.entity, key: task.key, taskId: task.id };
  const attempts = task.attempts + 1;
  const message = errorMessage(error);
  // A header can take a while to arrive (it may wait for its own customer):
  // dependency waits get a longer allowance than failures.
  const allowed = error instanceof DependencyPendingError ? deps.retry.maxAttempts * 5 : deps.retry.maxAttempts;
  // A target that cannot be reached at all is an outage of the target, not a
  // failure of this task: the task waits (with backoff) however long it lasts.
  const outage = isUnreachable(error);
  if (outage) deps.health?.set(`apply:${deps.target}`, 'degraded', `target unreachable, tasks held: ${message}`);
  if (isRetriable(error) && (attempts < allowed || outage)) {
    const delayMs = retryDelay(error, attempts, deps);
    await retryTaskLater(deps.store, deps.schema, task.id, deps.instanceId, message, delayMs);
    // A line waiting for its header is expected, not a failure.
    const waiting = error instanceof DependencyPendingError;
    deps.metrics.taskFinished(task.target, waiting ? 'waiting' : 'retry');
    deps.logger.log(waiting ? 'debug' : 'warn', waiting ? 'apply waits for a referenced record' : 'apply failed, will retry', { ...log, attempts, delayMs, error: message });
    return;
  }
  if (task.reason !== 'exception') {
    await taskRefused(task, error, attempts, retrying.get(task.id), exceptionDeps(deps));
    return;
  }
  // An exception write-back that fails is parked on its own (it opens no exception of its own: no loop).
  // A state-store blip here must not drop it: retried like every transient failure.
  await withRetry(() => deps.store.transaction(async (trx) => {
    await markTaskDead(trx, deps.schema, task.id, deps.instanceId, message);
    await parkDeadLetters(trx, deps.schema, [{
      kind: 'task',
      system: task.target,
      correlationId: task.correlationId,
      taskId: task.id,
      errorCode: error instanceof TandemError ? error.code : 'APPLY_FAILED',
      error: message,
      payload: { task, error: error instanceof TandemError ? error.toJSON() : message },
      attempts,
    }]);
  }), deps.retry);
  deps.metrics.taskFinished(task.target, 'dead');
  deps.logger.error('apply failed for good, task parked in the dead-letter store', { ...log, attempts, error: message });
}

/** Longest wait a target's Retry-After may impose on one task. */
const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * The wait before the next attempt: what the target asked for (Retry-After,
 * an open circuit), plus a little jitter so waiting tasks do not return all at
 * once; otherwise exponential backoff with full jitter.
 */
function retryDelay(error: unknown, attempts: number, deps: ApplyStageDeps): number {
  if (error instanceof ApplyError && error.retryAfterMs !== undefined) {
    return Math.min(MAX_RETRY_AFTER_MS, error.retryAfterMs + Math.round(Math.random() * Math.min(1000, deps.retry.initialDelayMs * 2)));
  }
  return backoffDelay(deps.retry, attempts);
}
