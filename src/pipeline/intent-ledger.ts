import type { ApplyTask } from '../apply';
import { sleep } from '../retry';

/**
 * Which apply intents (store/intents.ts) still have tasks outstanding in
 * this process. A task is settled once it is applied (the target written,
 * the applied mark set) or written to the outbox; an intent all of whose
 * tasks are settled is deleted by `sweep`, a few at a time. An intent not
 * yet deleted when the process dies is recovered at the next start: its
 * settled tasks then cost a redundant, harmless second look.
 */
export class IntentLedger {
  private readonly outstanding = new Map<string, Set<string>>();
  private settledIntents: string[] = [];

  /** An intent committed with these task ids. */
  track(intentId: string, taskIds: readonly string[]): void {
    if (taskIds.length === 0) this.settledIntents.push(intentId);
    else this.outstanding.set(intentId, new Set(taskIds));
  }

  /** Tasks settled; tasks of no intent (claimed from the outbox) are ignored. Settling twice is harmless. */
  settle(tasks: ReadonlyArray<Pick<ApplyTask, 'id' | 'intent'>>): void {
    for (const task of tasks) {
      if (task.intent === undefined) continue;
      const left = this.outstanding.get(task.intent);
      if (!left?.delete(task.id) || left.size > 0) continue;
      this.outstanding.delete(task.intent);
      this.settledIntents.push(task.intent);
    }
  }

  /** Whether a task of an intent still waits to be settled. */
  isOutstanding(task: Pick<ApplyTask, 'id' | 'intent'>): boolean {
    return task.intent !== undefined && (this.outstanding.get(task.intent)?.has(task.id) ?? false);
  }

  /** Intents with tasks outstanding. */
  get open(): number {
    return this.outstanding.size;
  }

  /** Deletes settled intents every `everyMs` until `signal` aborts, and once more then. A failed delete is tried again later. */
  async sweep(remove: (intentIds: string[]) => Promise<void>, everyMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.flush(remove).catch(() => {});
      await sleep(everyMs, signal);
    }
    await this.flush(remove).catch(() => {});
  }

  /** Deletes the intents settled so far. */
  async flush(remove: (intentIds: string[]) => Promise<void>): Promise<void> {
    if (this.settledIntents.length === 0) return;
    const ids = this.settledIntents;
    this.settledIntents = [];
    try {
      await remove(ids);
    } catch (error) {
      this.settledIntents.push(...ids);
      throw error;
    }
  }
}
