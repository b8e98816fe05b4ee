/**
 * The meeting point of kafkajs' push (eachBatch) and the pipeline's pull
 * (`batches()`): batches wait here to be pulled, and each one's producer
 * waits for its acknowledgement (or its abandonment after a rebalance).
 */
import type { ChangeBatch } from '../source';

export type Outcome = 'acked' | 'abandoned';

interface Entry {
  batch: ChangeBatch;
  partition: string;
  settle: (outcome: Outcome) => void;
}

export class Handoff {
  private readonly ready: Entry[] = [];
  /** Pulled (or waiting) and not yet acknowledged, by batch position. */
  private readonly open = new Map<string, Entry>();
  private pullWaiter: (() => void) | null = null;
  private roomWaiters: Array<() => void> = [];
  private closed = false;
  private failure: unknown = null;

  constructor(private readonly maxQueued: number) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves once fewer than `maxQueued` batches wait to be pulled (or the hand-off closed). */
  async room(): Promise<void> {
    while (!this.closed && this.ready.length >= this.maxQueued) await new Promise<void>((r) => this.roomWaiters.push(r));
  }

  /** Queues a batch; the promise settles when the pipeline acknowledges it, or it is abandoned. */
  push(batch: ChangeBatch, partition: string): Promise<Outcome> {
    if (this.closed) return Promise.resolve('abandoned');
    return new Promise<Outcome>((settle) => {
      const entry = { batch, partition, settle };
      this.ready.push(entry);
      this.open.set(batch.position, entry);
      this.wakePuller();
    });
  }

  acknowledge(position: string): void {
    const entry = this.open.get(position);
    if (!entry) return; // abandoned meanwhile: nothing may be committed for it
    this.open.delete(position);
    entry.settle('acked');
  }

  /** Drops the batches of partitions for which `test` holds: not handed out any more, never committed. */
  abandon(test: (partition: string) => boolean): number {
    let n = 0;
    for (const [position, entry] of this.open) {
      if (!test(entry.partition)) continue;
      this.open.delete(position);
      const i = this.ready.indexOf(entry);
      if (i >= 0) this.ready.splice(i, 1);
      entry.settle('abandoned');
      n++;
    }
    this.wakeRoom();
    return n;
  }

  /** Ends the iteration (with `error` thrown to the puller, if given) and abandons everything open. */
  close(error?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    if (error !== undefined) this.failure = error;
    this.abandon(() => true);
    this.wakePuller();
    this.wakeRoom();
  }

  async *iterate(): AsyncGenerator<ChangeBatch> {
    for (;;) {
      const entry = this.ready.shift();
      if (entry) {
        this.wakeRoom();
        yield entry.batch;
        continue;
      }
      if (this.closed) {
        if (this.failure !== null) throw this.failure;
        return;
      }
      await new Promise<void>((r) => (this.pullWaiter = r));
    }
  }

  private wakePuller(): void {
    const w = this.pullWaiter;
    this.pullWaiter = null;
    w?.();
  }

  private wakeRoom(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }
}
