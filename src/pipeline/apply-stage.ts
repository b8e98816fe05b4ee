import type { Knex } from 'knex';
import type { ApplyOutcome, ApplyTarget, ApplyTask, BatchResult, Dedup, KeyAllocations } from '../apply';
import { ApplyError, classifyFailure, DependencyPendingError, errorMessage, isRetriable, isUnreachable, TandemError } from '../errors';
import type { Logger } from '../log';
import { Backoff, backoffDelay, sleep, withRetry, type RetryPolicy } from '../retry';
import {
  checkHandedTasks, claimTasks, completeTasks, markTaskDead, parkDeadLetters, readIntentTasks, releaseTasks, retryTaskLater, spillTasks, tasksBehindOutbox,
  type KnexCrosswalk,
  type OpenException,
} from '../store';
import type { MappingRegistry } from '../transform';
import { forEachConcurrently } from './bounded-queue';
import { exceptionsResolved, foldIntoExceptions, taskRefused, type ExceptionDeps } from './exceptions';
import { flowBackAssignedKeys, logKeptDeletes } from './assigned-keys';
import type { HealthBoard } from './health';
import type { StallWatch } from './stall-watch';
import { recordOf, type HandOff, type TaskQueue } from './hand-off';
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
  /** Tasks the resolve stage of this process hands over after commit (see hand-off.ts); without it, only claims. */
  handed?: TaskQueue;
  /** The hand-off `handed` belongs to: its mode, and the ledger of intents (`intent` mode). */
  handOff?: HandOff;
}

/** Tasks handed to the target in one call. */
const CHUNK = 100;

/**
 * Delivers one target's outbox tasks until `signal` aborts: the tasks the
 * resolve stage hands over in process as soon as they are committed, and
 * the outbox's claimable tasks (retries, tasks of crashed instances, tasks
 * written by the CLI or while the hand-off queue was full) at least every
 * `pollMs`. A round holds at most one task per record, so its tasks can be
 * written in parallel and each record's writes still happen in order. A
 * failing round (the state store or the target away) is retried with
 * backoff, never fatal: tasks that were not completed return to the outbox
 * (handed ones at once where the state store answers, claimed ones when
 * their lease ends).
 */
export async function runApplyStage(deps: ApplyStageDeps, signal: AbortSignal): Promise<void> {
  const component = `apply:${deps.target}`;
  const backoff = new Backoff(deps.retry);
  const clock = { lastClaimAt: 0 };
  deps.health?.set(component, 'ok');
  try {
    while (!signal.aborted) {
      try {
        await applyRound(deps, clock, signal);
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
  } finally {
    // Stopping: what was handed over and not applied goes back to the outbox for the next start (or another instance).
    const left = deps.handed?.close() ?? [];
    if (inIntentMode(deps)) await spill(left.filter((t) => deps.handOff.ledger.isOutstanding(t)), 'pending', deps).catch(() => {});
    else await releaseTasks(deps.store, deps.schema, left.map((t) => t.id), deps.instanceId).catch(() => {});
  }
}

/** Whether handed-over tasks live in apply intents (a single instance) rather than leased outbox rows. */
function inIntentMode(deps: ApplyStageDeps): deps is ApplyStageDeps & { handOff: HandOff; handed: TaskQueue } {
  return deps.handOff?.mode === 'intent' && deps.handed !== undefined;
}

/**
 * Writes tasks of intents into the outbox and settles them: `pending` to be
 * claimed in their turn, or `leased` to this instance for the outbox's
 * failure paths (retry, exception, dead letter) to take over at once.
 */
async function spill(tasks: readonly ApplyTask[], as: 'pending' | 'leased', deps: ApplyStageDeps & { handOff: HandOff }): Promise<void> {
  const inIntents = tasks.filter((t) => t.intent !== undefined);
  if (inIntents.length === 0) return;
  await spillTasks(deps.store, deps.schema, inIntents, as === 'leased' ? deps.instanceId : null, deps.leaseMs);
  deps.handOff.ledger.settle(inIntents);
}

async function applyRound(deps: ApplyStageDeps, clock: { lastClaimAt: number }, signal: AbortSignal): Promise<void> {
  if (inIntentMode(deps) && deps.handed.hasDeferred) await inStage(deps, () => readDeferred(deps));
  const handed = deps.handed;
  if (handed && handed.size > 0 && Date.now() - clock.lastClaimAt < deps.pollMs) {
    await inStage(deps, () => (inIntentMode(deps) ? applyIntentRound(deps) : applyHandedRound(handed, deps)));
    return;
  }
  clock.lastClaimAt = Date.now();
  const claimed = await inStage(deps, async () => {
    const tasks = await claimTasks(deps.store, deps.schema, deps.target, deps.batchSize, deps.instanceId, deps.leaseMs);
    const inTurn = inIntentMode(deps) ? await notOvertaking(tasks, deps) : tasks;
    if (inTurn.length > 0) await applyTasks(inTurn, deps);
    return tasks.length > 0;
  });
  if (claimed) return;
  if (handed) await handed.waitForWork(deps.pollMs, signal);
  else await sleep(deps.pollMs, signal);
}

/**
 * One round of handed-over tasks. Each is checked against the outbox first:
 * one no longer leased to this instance is dropped (folded into an
 * exception's task, or taken over); one with an older open task of its
 * record goes back to the outbox with every later queued task of that
 * record, to be claimed in order behind it.
 */
async function applyHandedRound(handed: TaskQueue, deps: ApplyStageDeps): Promise<void> {
  const { round, stale } = handed.takeRound(deps.batchSize, deps.leaseMs / 2);
  const release = async (tasks: readonly ApplyTask[]) => releaseTasks(deps.store, deps.schema, tasks.map((t) => t.id), deps.instanceId);
  try {
    if (stale.length > 0) await release(stale);
    const { gone, blocked } = await checkHandedTasks(deps.store, deps.schema, deps.target, deps.instanceId, round);
    const held = round.filter((t) => blocked.has(t.id));
    if (held.length > 0) await release([...held, ...handed.takeRecords(new Set(held.map(recordOf)))]);
    const tasks = round.filter((t) => !gone.has(t.id) && !blocked.has(t.id));
    if (tasks.length > 0) await applyTasks(tasks, deps);
  } catch (error) {
    // Back to the outbox where the state store answers (tasks already carried out are no longer leased: left alone).
    await release(round).catch(() => {});
    throw error;
  }
}

/**
 * A round of tasks handed over in intent mode (one per record). Tasks with
 * an older open outbox task of their record (a retry, a task of the CLI) go
 * to the outbox behind it, with every later queued task of their record. A
 * round that fails goes back to the head of the queue, its settled tasks
 * left out, and is tried again after backoff: tasks already applied are
 * known by their applied marks.
 */
async function applyIntentRound(deps: ApplyStageDeps & { handOff: HandOff; handed: TaskQueue }): Promise<void> {
  const { round } = deps.handed.takeRound(deps.batchSize, Number.POSITIVE_INFINITY);
  const taken = [...round];
  try {
    const behind = await tasksBehindOutbox(deps.store, deps.schema, deps.target, round);
    const waiting = round.filter((t) => behind.has(t.id));
    if (waiting.length > 0) {
      const followers = deps.handed.takeRecords(new Set(waiting.map(recordOf)));
      taken.push(...followers);
      await spill([...waiting, ...followers], 'pending', deps);
    }
    const tasks = round.filter((t) => !behind.has(t.id));
    if (tasks.length > 0) await applyTasks(tasks, deps);
  } catch (error) {
    // Counted as tried: some may have been written before the failure (their applied marks tell).
    deps.handed.putBack(taken.filter((t) => deps.handOff.ledger.isOutstanding(t)).map((t) => ({ ...t, attempts: t.attempts + 1 })));
    throw error;
  }
}

/**
 * Tasks of intents the resolve stage could not hand over (the queue was
 * full) come into the queue from the state store, oldest intent first, while
 * it is at most half full.
 */
async function readDeferred(deps: ApplyStageDeps & { handed: TaskQueue }): Promise<void> {
  for (let next = deps.handed.nextDeferred(); next !== null; next = deps.handed.nextDeferred()) {
    try {
      deps.handed.push(await readIntentTasks(deps.store, deps.schema, next.intentId, deps.target));
    } catch (error) {
      deps.handed.undefer(next);
      throw error;
    }
  }
}

/**
 * Claimed outbox tasks that would overtake an older task of their record
 * still queued in memory or waiting in an intent (intent mode) go back to
 * the outbox, to be claimed after it. Of tasks waiting in intents only the
 * oldest id is known: while some wait, a claimed task newer than it waits too.
 */
async function notOvertaking(tasks: ApplyTask[], deps: ApplyStageDeps & { handed: TaskQueue }): Promise<ApplyTask[]> {
  if (tasks.length === 0 || (deps.handed.size === 0 && !deps.handed.hasDeferred)) return tasks;
  const queued = deps.handed.oldestQueued();
  const waitingFrom = deps.handed.firstDeferredId;
  const overtaking = tasks.filter((t) => {
    const id = BigInt(t.id);
    return (queued.get(recordOf(t)) ?? id) < id || (waitingFrom !== null && waitingFrom < id);
  });
  if (overtaking.length === 0) return tasks;
  await releaseTasks(deps.store, deps.schema, overtaking.map((t) => t.id), deps.instanceId);
  return tasks.filter((t) => !overtaking.includes(t));
}

async function applyTasks(tasks: ApplyTask[], deps: ApplyStageDeps): Promise<void> {
  // Tasks of intents that fold into an open exception's held task must be outbox rows first: the fold works on rows.
  const beforeFold = inIntentMode(deps) ? (folding: ApplyTask[]) => spill(folding, 'leased', deps) : undefined;
  const { toApply, retrying } = await foldIntoExceptions(tasks, exceptionDeps(deps), beforeFold);
  await forEachConcurrently(chunksByEntity(toApply), deps.concurrency, async (chunk) => {
    await applyChunk(chunk, retrying, deps);
    deps.stalls?.progress(`apply:${deps.target}`);
  });
}

/** Work in hand for /readyz's stall watch (waiting for work is not). */
function inStage<T>(deps: ApplyStageDeps, work: () => Promise<T>): Promise<T> {
  return deps.stalls ? deps.stalls.around(`apply:${deps.target}`, work) : work();
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
  // A task of an intent not tried before is new (its id was drawn when it was resolved): it cannot have been applied.
  const applied = await deps.dedup.appliedTasks(tasks.filter((t) => t.intent === undefined || t.attempts > 0).map((t) => t.id));
  const done: Array<{ id: string; outcome: string }> = [];
  const todo: ApplyTask[] = [];
  for (const task of tasks) (applied.has(task.id) ? done.push({ id: task.id, outcome: 'already-applied' }) : todo.push(task));

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
  await deps.dedup.markApplied(succeeded.map((r) => r.task.id));
  for (const r of succeeded) done.push({ id: r.task.id, outcome: r.outcome!.status });
  // Tasks of intents have no outbox row to remove; a superseded one gets one, kept an hour for inspection as claimed ones are.
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const superseded = done.filter((d) => d.outcome === 'superseded').map((d) => byId.get(d.id)!);
  if (inIntentMode(deps)) await spill(superseded, 'leased', deps);
  await completeTasks(deps.store, deps.schema, deps.instanceId, done.filter((d) => byId.get(d.id)!.intent === undefined || d.outcome === 'superseded'));
  deps.handOff?.ledger.settle(done.map((d) => byId.get(d.id)!));
  for (const { outcome } of done) deps.metrics.taskFinished(deps.target, outcome);
  for (const r of succeeded) deps.metrics.taskCompleted(r.task, deps.target);
  const failures = results.filter((r) => r.error !== undefined);
  // A failed task of an intent becomes a leased outbox row: retries, exceptions and dead letters work on rows.
  if (inIntentMode(deps)) await spill(failures.map((r) => r.task), 'leased', deps);
  for (const r of failures) await failed(r.task, r.error, retrying, deps);
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
