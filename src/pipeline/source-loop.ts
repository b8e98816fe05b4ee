import type { ChangeBatch, ChangeSource } from '../capture';
import { classifyFailure, errorMessage, TandemError } from '../errors';
import type { Logger } from '../log';
import { Backoff, sleep, type RetryPolicy } from '../retry';
import { BoundedQueue } from './bounded-queue';
import type { HealthBoard } from './health';

export interface SourceLoopDeps {
  system: string;
  createSource: () => Promise<ChangeSource>;
  /** Makes a batch's effects durable. The loop acknowledges the batch afterwards. */
  handle: (batch: ChangeBatch) => Promise<void>;
  queueDepth: number;
  retry: RetryPolicy;
  logger: Logger;
  /** Called with each batch once it is durable and acknowledged; `backlog`: batches queued behind it. */
  onDurable: (batch: ChangeBatch, backlog: number) => void;
  onSourceChange: (source: ChangeSource | null) => void;
  health: HealthBoard;
  /** A source that fails for good ends the pipeline (`stop`) or only itself (`isolate`). */
  onSourceFailure: 'stop' | 'isolate';
}

/** A source stopped for good; the pipeline ends with it under `onSourceFailure: stop`. */
export class SourceFailedError extends TandemError {
  override readonly code: string = 'SOURCE_FAILED';
}

/**
 * Runs one source until `signal` aborts: capture reads ahead into a bounded
 * queue while batches are resolved in order; each batch is acknowledged only
 * after its effects are committed. A transient failure restarts the source
 * with backoff (reset once it makes progress again), resuming from what was
 * acknowledged. A permanent one (see classifyFailure), or an unclassified one
 * that repeats `retry.maxAttempts` times without progress, marks the source
 * failed: the loop then ends, and with `onSourceFailure: stop` the pipeline too.
 */
export async function runSourceLoop(deps: SourceLoopDeps, signal: AbortSignal): Promise<void> {
  const component = `source:${deps.system}`;
  const backoff = new Backoff(deps.retry);
  const progressed = () => {
    backoff.reset();
    if (deps.health.get(component)?.state !== 'ok') deps.health.set(component, 'ok');
  };
  deps.health.set(component, 'ok');
  while (!signal.aborted) {
    try {
      await runOnce({ ...deps, onDurable: (batch, backlog) => { progressed(); deps.onDurable(batch, backlog); } }, signal);
    } catch (error) {
      if (signal.aborted) break;
      const kind = classifyFailure(error);
      const delayMs = backoff.next();
      if (kind === 'permanent' || kind === 'config' || (kind === 'unknown' && backoff.count > deps.retry.maxAttempts)) {
        const reason = errorMessage(error);
        deps.health.set(component, 'failed', reason);
        deps.logger.error('source failed for good; it needs a person (see the reason)', { system: deps.system, error: reason, kind, onSourceFailure: deps.onSourceFailure });
        if (deps.onSourceFailure === 'stop') throw new SourceFailedError(`source ${deps.system} failed: ${reason}`, { system: deps.system }, { cause: error });
        return;
      }
      deps.health.set(component, 'degraded', `restarting after: ${errorMessage(error)}`);
      deps.logger.error('source failed; restarting', { system: deps.system, error: errorMessage(error), kind, failures: backoff.count, delayMs });
      await sleep(delayMs, signal);
    }
  }
}

async function runOnce(deps: SourceLoopDeps, signal: AbortSignal): Promise<void> {
  const source = await deps.createSource();
  deps.onSourceChange(source);
  try {
    if (source.readAhead) await pullWhenReady(source, source.readAhead, deps, signal);
    else await readAhead(source, deps, signal);
  } finally {
    await source.stop().catch(() => {});
    deps.onSourceChange(null);
  }
}

/**
 * A source that batches on its own (natural batching): the next batch is
 * pulled only once the previous one is durable, so it holds everything the
 * source collected meanwhile; no batch sits sealed in a queue while newer
 * changes wait behind it. On stop, the batch in hand is finished and
 * acknowledged; what the source holds is delivered again on restart.
 */
async function pullWhenReady(source: ChangeSource, buffered: { ready(): number }, deps: SourceLoopDeps, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  let inHand = false;
  // Waiting for a batch: stopping the source ends the iteration. With one in hand, it is finished first.
  const stopWaiting = () => {
    if (!inHand) void source.stop();
  };
  signal.addEventListener('abort', stopWaiting, { once: true });
  try {
    for await (const batch of source.batches()) {
      inHand = true;
      await deps.handle(batch);
      await source.acknowledge(batch.position);
      deps.onDurable(batch, buffered.ready());
      inHand = false;
      if (signal.aborted) return;
    }
  } finally {
    signal.removeEventListener('abort', stopWaiting);
  }
}

/**
 * Other sources: capture reads ahead into a bounded queue (`queueDepth`
 * batches) while batches are resolved in order. On stop, take no new
 * batches but finish and acknowledge the queued ones while the source is
 * still connected; the source closes afterwards.
 */
async function readAhead(source: ChangeSource, deps: SourceLoopDeps, signal: AbortSignal): Promise<void> {
  const queue = new BoundedQueue<ChangeBatch>(deps.queueDepth);
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
      deps.onDurable(batch, queue.size);
    }
  } finally {
    signal.removeEventListener('abort', stopTaking);
    await source.stop().catch(() => {});
    queue.close();
    await capture;
  }
}
