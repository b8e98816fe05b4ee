/**
 * A bounded hand-off between a producer and a consumer stage. `push` waits
 * while the queue is full, which is how a slow stage slows the one before it
 * instead of filling memory.
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private closed = false;
  private failure: unknown = null;
  private wakeConsumer: (() => void) | null = null;
  private wakeProducer: (() => void) | null = null;

  constructor(private readonly capacity: number) {}

  async push(item: T): Promise<void> {
    while (this.items.length >= this.capacity && !this.closed) {
      await new Promise<void>((resolve) => (this.wakeProducer = resolve));
    }
    if (this.closed) return;
    this.items.push(item);
    this.wake('consumer');
  }

  /** No more items: the consumer ends after draining what is queued. */
  close(failure: unknown = null): void {
    this.closed = true;
    this.failure = failure;
    this.wake('consumer');
    this.wake('producer');
  }

  get size(): number {
    return this.items.length;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        this.wake('producer');
        yield item;
        continue;
      }
      if (this.closed) {
        if (this.failure) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
    }
  }

  private wake(which: 'consumer' | 'producer'): void {
    const wake = which === 'consumer' ? this.wakeConsumer : this.wakeProducer;
    if (which === 'consumer') this.wakeConsumer = null;
    else this.wakeProducer = null;
    wake?.();
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function forEachConcurrently<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}
