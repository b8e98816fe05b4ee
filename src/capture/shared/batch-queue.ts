/**
 * The hand-off between the producers (replication stream, snapshot readers)
 * and the pull-based `batches()` iterator. It counts the estimated bytes of
 * the batches it holds, so the stream can pause its socket, and lets a
 * snapshot reader wait for room.
 *
 * Natural batching: the stream's assembler is this queue's `supplier`. When
 * the consumer asks for a batch and none is queued, the committed
 * transactions the assembler holds are taken at once, however few; while the
 * consumer is busy they accumulate there (up to the assembler's limits). So
 * at low rates each transaction goes on without waiting, and at high rates
 * the batches grow with the consumer's round time.
 */
import type { PendingBatch } from './batch-assembler';

/** Where batches are built: committed transactions it holds are taken on demand. */
export interface BatchSupplier {
  readonly hasComplete: boolean;
  flush(): void;
}

export interface BatchQueueOptions {
  /** `pushWhenRoom` waits while this many estimated bytes are queued. */
  capacityBytes: number;
  /** Runs after the consumer took a batch: the stream may resume reading. */
  onTaken?: () => void;
}

export class BatchQueue {
  private readonly items: PendingBatch[] = [];
  private bytes = 0;
  private error: unknown = null;
  private closed = false;
  private readers: (() => void)[] = [];
  private writers: (() => void)[] = [];
  private supplier: BatchSupplier | null = null;

  constructor(private readonly options: BatchQueueOptions) {}

  /** Estimated bytes of the queued batches (not of what the supplier holds). */
  get bufferedBytes(): number {
    return this.bytes;
  }

  get length(): number {
    return this.items.length;
  }

  /** The consumer waits for a batch and none is queued: a committed transaction should go on at once. */
  get consumerWaiting(): boolean {
    return this.readers.length > 0 && this.items.length === 0;
  }

  /** Batches the consumer could take now: the queued ones, and one from the supplier's committed transactions. */
  get ready(): number {
    return this.items.length + (this.supplier?.hasComplete ? 1 : 0);
  }

  /** The stream's assembler, whose committed transactions are taken when nothing is queued. */
  setSupplier(supplier: BatchSupplier | null): void {
    this.supplier = supplier;
  }

  /** For the stream: never waits (its back-pressure is pausing the socket). */
  push(pending: PendingBatch): void {
    if (this.closed) return;
    this.items.push(pending);
    this.bytes += pending.batch.bytes ?? 0;
    this.wake('readers');
  }

  /** For snapshot readers: waits while the queue is at capacity. */
  async pushWhenRoom(pending: PendingBatch): Promise<void> {
    while (!this.closed && this.items.length > 0 && this.bytes >= this.options.capacityBytes) {
      await new Promise<void>((resolve) => this.writers.push(resolve));
    }
    this.push(pending);
  }

  /** The next batch; null once closed. Throws the producer's error, if any. */
  async next(): Promise<PendingBatch | null> {
    for (;;) {
      if (this.error !== null) throw this.error;
      if (this.closed) return null;
      if (this.items.length === 0) this.supplier?.flush();
      const item = this.items.shift();
      if (item) {
        this.bytes -= item.batch.bytes ?? 0;
        this.wake('writers');
        this.options.onTaken?.();
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
