import type { Knex } from 'knex';
import type { ApplyTask, Dedup, SqlTarget } from '../apply';
import { errorMessage, isRetriable, TandemError } from '../errors';
import type { Logger } from '../log';
import { backoffDelay, sleep, type RetryPolicy } from '../retry';
import { claimTasks, completeTask, markTaskDead, parkDeadLetters, retryTaskLater, type KnexCrosswalk } from '../store';
import type { MappingRegistry } from '../transform';
import { forEachConcurrently } from './bounded-queue';
import type { PipelineMetrics } from './metrics';

export interface ApplyStageDeps {
  target: string;
  sink: SqlTarget;
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
}

/**
 * Delivers one target's outbox tasks until `signal` aborts. A claim returns at
 * most one task per record, so different records are written in parallel and
 * one record's writes in order.
 */
export async function runApplyStage(deps: ApplyStageDeps, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const tasks = await claimTasks(deps.store, deps.schema, deps.target, deps.batchSize, deps.instanceId, deps.leaseMs);
    if (tasks.length === 0) {
      await sleep(deps.pollMs, signal);
      continue;
    }
    await forEachConcurrently(tasks, deps.concurrency, (task) => applyOne(task, deps));
  }
}

async function applyOne(task: ApplyTask, deps: ApplyStageDeps): Promise<void> {
  const log = { correlationId: task.correlationId, target: task.target, entity: task.entity, key: task.key, taskId: task.id };
  if (await deps.dedup.wasApplied(task.id)) {
    await completeTask(deps.store, deps.schema, task.id, deps.instanceId, 'already-applied');
    deps.metrics.taskFinished(task.target, 'already-applied');
    return;
  }
  try {
    const mapping = deps.registry.forSystemEntity(task.target, task.entity);
    if (!mapping) throw new TandemError(`system ${task.target} has no mapping for entity ${task.entity}`, log);
    const outcome = await deps.sink.apply(task, {
      mapping,
      crosswalk: deps.crosswalk,
      refMappings: (entity) => deps.registry.forSystemEntity(task.target, entity),
    });
    await deps.dedup.markApplied(task.id);
    await completeTask(deps.store, deps.schema, task.id, deps.instanceId, outcome.status);
    deps.metrics.taskFinished(task.target, outcome.status);
    deps.logger.debug('task applied', { ...log, outcome: outcome.status });
  } catch (error) {
    await failed(task, error, deps, log);
  }
}

async function failed(task: ApplyTask, error: unknown, deps: ApplyStageDeps, log: Record<string, string>): Promise<void> {
  const attempts = task.attempts + 1;
  const message = errorMessage(error);
  if (isRetriable(error) && attempts < deps.retry.maxAttempts) {
    const delayMs = backoffDelay(deps.retry, attempts);
    await retryTaskLater(deps.store, deps.schema, task.id, deps.instanceId, message, delayMs);
    deps.metrics.taskFinished(task.target, 'retry');
    deps.logger.warn('apply failed, will retry', { ...log, attempts, delayMs, error: message });
    return;
  }
  await deps.store.transaction(async (trx) => {
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
  });
  deps.metrics.taskFinished(task.target, 'dead');
  deps.logger.error('apply failed for good, task parked in the dead-letter store', { ...log, attempts, error: message });
}
