import type { ApplyTask } from '../apply';
import { IntentLedger } from './intent-ledger';

/**
 * The in-process hand-off from the resolve stage to the apply stages
 * (issue 10), durable in one of two ways:
 * - `intent` (a single instance, `pipeline.scaleOut: false`): the resolve
 *   transaction writes the batch's tasks as one apply intent row
 *   (store/intents.ts); the `ledger` deletes it once all its tasks are
 *   settled, and a crash leaves it to be recovered into the outbox at the
 *   next start. No row per task.
 * - `lease` (scale-out): the resolve transaction writes each task to the
 *   outbox already leased to this instance (`status = 'inflight'`); a crash
 *   leaves the rows leased, and once the lease ends any instance claims them.
 * Either way, after commit the tasks are given to their target's apply stage
 * here: no claim query, no claim UPDATE, no polling delay. The resolve stage waits while a queue is more than half
 * full and its apply stage is taking tasks (backpressure, so the hand-off
 * stays the path under load); a queue that is full anyway, or whose stage
 * has taken nothing for a while (a hung target), gets its tasks as plain
 * pending rows (claimed by polling): one slow target never stops the
 * others, and the queues stay bounded.
 */
export class HandOff {
  private readonly queues = new Map<string, TaskQueue>();
  /** Intents with tasks outstanding (`intent` mode). */
  readonly ledger = new IntentLedger();

  constructor(
    /** The lease owner written on handed-over rows (the instance id). */
    readonly owner: string,
    readonly leaseMs: number,
    readonly mode: 'intent' | 'lease' = 'lease',
  ) {}

  /** Registers a target's apply stage; tasks for targets without one stay in the outbox. */
  queue(target: string, capacity: number): TaskQueue {
    const queue = new TaskQueue(capacity);
    this.queues.set(target, queue);
    return queue;
  }

  /**
   * Waits (up to `maxWaitMs`) until no queue whose apply stage is making
   * progress is more than half full.
   */
  async waitForRoom(maxWaitMs: number, now = Date.now): Promise<void> {
    const deadline = now() + maxWaitMs;
    for (;;) {
      const busy = [...this.queues.values()].filter((q) => !q.closed && q.size > q.capacity / 2 && now() - q.lastTakeAt < STALLED_MS);
      if (busy.length === 0 || now() >= deadline) return;
      await Promise.race([busy[0]!.nextTake(), new Promise((r) => setTimeout(r, Math.min(STALLED_MS, Math.max(1, deadline - now()))))]);
    }
  }

  /** Whether `count` more tasks for `target` can be handed over in process (in order: none of its tasks wait in intents). */
  accepts(target: string, count: number): boolean {
    const queue = this.queues.get(target);
    return queue !== undefined && !queue.closed && !queue.hasDeferred && queue.size + count <= queue.capacity;
  }

  /** Whether `target`'s apply stage runs in this process and takes tasks. */
  serves(target: string): boolean {
    const queue = this.queues.get(target);
    return queue !== undefined && !queue.closed;
  }

  /**
   * Intent mode: gives the tasks of a committed intent to their apply stages,
   * in commit order. A stage with no room (or with tasks already waiting in
   * intents) reads them from the intent when it has room (see
   * TaskQueue.defer): they are not held in memory twice. Returns those whose
   * apply stage has stopped meanwhile: the caller writes them to the outbox.
   */
  deliverIntent(intentId: string, tasks: readonly ApplyTask[]): ApplyTask[] {
    const refused: ApplyTask[] = [];
    for (const [target, list] of byTarget(tasks)) {
      const queue = this.queues.get(target);
      const taken = this.accepts(target, list.length)
        ? queue!.push(list)
        : queue?.defer({ intentId, firstTaskId: BigInt(list[0]!.id) }) ?? false;
      if (!taken) refused.push(...list);
    }
    return refused;
  }

  /**
   * Gives committed, leased tasks to their apply stages (in commit order).
   * Returns those whose apply stage has stopped meanwhile: the caller
   * releases them to the outbox.
   */
  deliver(tasks: readonly ApplyTask[]): ApplyTask[] {
    const refused: ApplyTask[] = [];
    for (const [target, list] of byTarget(tasks)) if (!this.queues.get(target)?.push(list)) refused.push(...list);
    return refused;
  }
}

/** Tasks grouped by target, each group in the given order. */
function byTarget(tasks: readonly ApplyTask[]): Map<string, ApplyTask[]> {
  const groups = new Map<string, ApplyTask[]>();
  for (const task of tasks) {
    const list = groups.get(task.target);
    if (list) list.push(task);
    else groups.set(task.target, [task]);
  }
  return groups;
}

/**
 * An apply stage that has taken no task for this long is not waited for (its
 * target hangs). Longer than a busy round takes on a loaded machine (measured:
 * rounds of 500 tasks took over a second at load 30, and a 1 s limit sent most
 * tasks to the polled path).
 */
const STALLED_MS = 10_000;

const recordOf = (task: ApplyTask) => `${task.entity}\u0000${task.key}`;

/** An intent with tasks for a target that were not handed over in memory. */
export interface DeferredIntent {
  intentId: string;
  /** The smallest id among its tasks for the target. */
  firstTaskId: bigint;
}

/** One target's handed-over tasks, in the order they were resolved. */
export class TaskQueue {
  private items: ApplyTask[] = [];
  /** Intents whose tasks for this target wait in the state store, oldest first: all behind `items`. */
  private deferred: DeferredIntent[] = [];
  private wake: (() => void) | null = null;
  private stopped = false;
  private taken: Array<() => void> = [];
  /** When the apply stage last took tasks (or the queue was made). */
  lastTakeAt = Date.now();

  constructor(readonly capacity: number) {}

  /** Whether its apply stage has stopped (it takes no more tasks). */
  get closed(): boolean {
    return this.stopped;
  }

  get size(): number {
    return this.items.length;
  }

  /** Whether tasks for this target wait in intents (later tasks must queue behind them). */
  get hasDeferred(): boolean {
    return this.deferred.length > 0;
  }

  /** The smallest id of a task waiting in an intent, or null. */
  get firstDeferredId(): bigint | null {
    return this.deferred[0]?.firstTaskId ?? null;
  }

  /** Remembers an intent whose tasks for this target wait in the state store; false once stopped. */
  defer(intent: DeferredIntent): boolean {
    if (this.stopped) return false;
    this.deferred.push(intent);
    this.wake?.();
    return true;
  }

  /** The oldest deferred intent, once there is room for more tasks in memory (at most half full). */
  nextDeferred(): DeferredIntent | null {
    if (this.deferred.length === 0 || this.items.length > this.capacity / 2) return null;
    return this.deferred.shift()!;
  }

  /** Puts a deferred intent back at the head (reading its tasks failed). */
  undefer(intent: DeferredIntent): void {
    this.deferred.unshift(intent);
  }

  /** Queues tasks; false (nothing queued) once the apply stage has stopped. */
  push(tasks: readonly ApplyTask[]): boolean {
    if (this.stopped) return false;
    this.items.push(...tasks);
    this.wake?.();
    return true;
  }

  /**
   * The next round: the oldest queued task of each record, up to `limit`, so
   * a round's tasks can be written in parallel and each record's in order.
   * Tasks queued longer than `maxAgeMs` come back apart (`stale`): their lease
   * is half gone, and they are better returned to the outbox than applied
   * while another instance may be about to take them over.
   */
  takeRound(limit: number, maxAgeMs: number, now = Date.now()): { round: ApplyTask[]; stale: ApplyTask[] } {
    const round: ApplyTask[] = [];
    const stale: ApplyTask[] = [];
    const seen = new Set<string>();
    const kept: ApplyTask[] = [];
    for (const task of this.items) {
      const record = recordOf(task);
      if (round.length >= limit || seen.has(record)) {
        kept.push(task);
        continue;
      }
      seen.add(record);
      (now - task.createdAtMs > maxAgeMs ? stale : round).push(task);
    }
    this.items = kept;
    this.tookSome();
    return { round, stale };
  }

  /** Puts tasks taken in a round that failed back at the head of the queue, in their order. */
  putBack(tasks: readonly ApplyTask[]): void {
    if (tasks.length === 0) return;
    const byId = (a: ApplyTask, b: ApplyTask) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1);
    this.items = [...[...tasks].sort(byId), ...this.items];
  }

  /** The smallest queued task id of each record (to keep claimed outbox tasks from overtaking them). */
  oldestQueued(): Map<string, bigint> {
    const oldest = new Map<string, bigint>();
    for (const task of this.items) {
      const id = BigInt(task.id);
      const record = recordOf(task);
      const seen = oldest.get(record);
      if (seen === undefined || id < seen) oldest.set(record, id);
    }
    return oldest;
  }

  /** Removes and returns the queued tasks of these records (they follow a task that went back to the outbox). */
  takeRecords(records: ReadonlySet<string>): ApplyTask[] {
    const taken = this.items.filter((t) => records.has(recordOf(t)));
    if (taken.length > 0) this.items = this.items.filter((t) => !records.has(recordOf(t)));
    this.tookSome();
    return taken;
  }

  /** Resolves the next time the apply stage takes tasks. */
  nextTake(): Promise<void> {
    return new Promise((resolve) => this.taken.push(resolve));
  }

  private tookSome(): void {
    this.lastTakeAt = Date.now();
    const waiting = this.taken;
    this.taken = [];
    for (const resolve of waiting) resolve();
  }

  /** Stops taking tasks and returns those queued (intents of deferred tasks stay in the state store for the next start). */
  close(): ApplyTask[] {
    this.stopped = true;
    this.tookSome();
    const all = this.items;
    this.items = [];
    return all;
  }

  /** Resolves when tasks arrive, after `ms`, or on abort, whichever is first. */
  waitForWork(ms: number, signal: AbortSignal): Promise<void> {
    if (this.items.length > 0 || this.deferred.length > 0 || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }
}

export { recordOf };
