import type { ChangeBatch, ChangeSource } from '../capture';
import { classifyFailure, errorMessage, TandemError } from '../errors';
import type { Logger } from '../log';
import { Backoff, sleep, type RetryPolicy } from '../retry';
import { BoundedQueue } from './bounded-queue';
import type { BatchTurn } from './resolve-stage';
import type { HealthBoard } from './health';

export interface SourceLoopDeps {
  system: string;
  createSource: () => Promise<ChangeSource>;
  /**
   * Makes a batch's effects durable. The loop acknowledges the batch
   * afterwards. A batch is started while the one before it finishes: `turn`
   * tells it where that one stands (see BatchTurn).
   */
  handle: (batch: ChangeBatch, turn: BatchTurn) => Promise<void>;
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
  // Two batches in flight at most: the next one is started, then the previous one awaited and acknowledged.
  const turns = new Turns();
  let previous: Promise<void> = Promise.resolve();
  let latest: Promise<void> = Promise.resolve();
  try {
    for await (const batch of queue) {
      const handled = turns.start((turn) => deps.handle(batch, turn));
      latest = handled;
      await previous;
      previous = handled.then(async () => {
        await source.acknowledge(batch.position);
        deps.onDurable(batch, queue.size);
      });
    }
    await previous;
  } finally {
    // A batch started behind one that failed fails too (it waits for it): wait for it before the source goes.
    await latest.catch(() => {});
    signal.removeEventListener('abort', stopTaking);
    await source.stop().catch(() => {});
    queue.close();
    await capture;
    deps.onSourceChange(null);
  }
}

/** Hands each batch the signals of the batch before it (see BatchTurn). */
export class Turns {
  private previous = { locked: Promise.resolve(), created: Promise.resolve(new Set<string>() as ReadonlySet<string>), done: Promise.resolve() };

  start(handle: (turn: BatchTurn) => Promise<void>): Promise<void> {
    let locked!: () => void;
    let created!: (keys: ReadonlySet<string>) => void;
    const signals = {
      locked: new Promise<void>((resolve) => (locked = resolve)),
      created: new Promise<ReadonlySet<string>>((resolve) => (created = resolve)),
    };
    const turn: BatchTurn = {
      previousLocked: this.previous.locked, previousCreated: this.previous.created, previousDone: this.previous.done, locked, created,
    };
    const done = handle(turn);
    // Observed here so a failure the next batch sees first is not reported as unhandled.
    done.catch(() => {});
    this.previous = { ...signals, done };
    return done;
  }
}
