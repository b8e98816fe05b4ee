import type { ChangeBatch, ChangeSource } from '../capture';
import { errorMessage, isRetriable } from '../errors';
import type { Logger } from '../log';
import { backoffDelay, sleep, type RetryPolicy } from '../retry';
import { BoundedQueue } from './bounded-queue';

export interface SourceLoopDeps {
  system: string;
  createSource: () => Promise<ChangeSource>;
  /** Makes a batch's effects durable. The loop acknowledges the batch afterwards. */
  handle: (batch: ChangeBatch) => Promise<void>;
  queueDepth: number;
  retry: RetryPolicy;
  logger: Logger;
  /** Called with each batch position once it is durable and acknowledged. */
  onDurable: (batch: ChangeBatch) => void;
  onSourceChange: (source: ChangeSource | null) => void;
}

/**
 * Runs one source until `signal` aborts: capture reads ahead into a bounded
 * queue while batches are resolved in order; each batch is acknowledged only
 * after its effects are committed. A failed source is restarted with backoff
 * and resumes from what was acknowledged.
 */
export async function runSourceLoop(deps: SourceLoopDeps, signal: AbortSignal): Promise<void> {
  for (let failures = 0; !signal.aborted; ) {
    try {
      await runOnce(deps, signal);
      failures = 0;
    } catch (error) {
      if (signal.aborted) break;
      failures++;
      if (!isRetriable(error) && failures > deps.retry.maxAttempts) throw error;
      const delayMs = backoffDelay(deps.retry, failures);
      deps.logger.error('source failed; restarting', { system: deps.system, error: errorMessage(error), failures, delayMs });
      await sleep(delayMs, signal);
    }
  }
}

async function runOnce(deps: SourceLoopDeps, signal: AbortSignal): Promise<void> {
  const source = await deps.createSource();
  deps.onSourceChange(source);
  const queue = new BoundedQueue<ChangeBatch>(deps.queueDepth);
  // On stop, take no new batches but finish and acknowledge the queued ones
  // while the source is still connected; the source closes afterwards.
  const stopTaking = () => queue.close();
  signal.addEventListener('abort', stopTaking, { once: true });
  const capture = (async () => {
    try {
      for await (const batch of source.batches()) await queue.push(batch);
      queue.close();
    } catch (error) {
      queue.close(error);
    }
  })();
  try {
    for await (const batch of queue) {
      await deps.handle(batch);
      await source.acknowledge(batch.position);
      deps.onDurable(batch);
    }
  } finally {
    signal.removeEventListener('abort', stopTaking);
    await source.stop().catch(() => {});
    queue.close();
    await capture;
    deps.onSourceChange(null);
  }
}
