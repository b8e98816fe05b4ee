/**
 * The hand-off between the producers (replication stream, snapshot readers)
 * and the pull-based `batches()` iterator. It counts buffered events so the
 * stream can pause its socket, and lets a snapshot reader wait for room.
 */
import type { PendingBatch } from './batch-assembler';

export class BatchQueue {
  private readonly items: PendingBatch[] = [];
  private events = 0;
  private error: unknown = null;
  private closed = false;
  private readers: (() => void)[] = [];
  private writers: (() => void)[] = [];

  /** `onTaken` runs after the consumer took a batch: the stream may resume reading. */
  constructor(private readonly capacityEvents: number, private readonly onTaken: () => void = () => undefined) {}

  get bufferedEvents(): number {
    return this.events;
  }

  get length(): number {
    return this.items.length;
  }

  /** For the stream: never waits (its back-pressure is pausing the socket). */
  push(pending: PendingBatch): void {
    if (this.closed) return;
    this.items.push(pending);
    this.events += pending.batch.events.length;
    this.wake('readers');
  }

  /** For snapshot readers: waits while the queue is at capacity. */
  async pushWhenRoom(pending: PendingBatch): Promise<void> {
    while (!this.closed && this.items.length > 0 && this.events >= this.capacityEvents) {
      await new Promise<void>((resolve) => this.writers.push(resolve));
    }
    this.push(pending);
  }

  /** The next batch; null once closed. Throws the producer's error, if any. */
  async next(): Promise<PendingBatch | null> {
    for (;;) {
      if (this.error !== null) throw this.error;
      if (this.closed) return null;
      const item = this.items.shift();
      if (item) {
        this.events -= item.batch.events.length;
        this.wake('writers');
        this.onTaken();
        return item;
      }
      await new Promise<void>((resolve) => this.readers.push(resolve));
    }
  }

  fail(error: unknown): void {
    if (this.error === null && !this.closed) this.error = error;
    this.wakeAll();
  }

  close(): void {
    this.closed = true;
    this.wakeAll();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private wake(which: 'readers' | 'writers'): void {
    const waiting = this[which];
    this[which] = [];
    for (const resolve of waiting) resolve();
  }

  private wakeAll(): void {
    this.wake('readers');
    this.wake('writers');
  }
}
