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
 * Runs one source until `signal` aborts: capture reads ahead (the source on
 * its own, see pullWhenReady, or into a bounded queue) while batches are
 * resolved in order; each batch is acknowledged only
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
    else await queueAhead(source, deps, signal);
  } finally {
    await source.stop().catch(() => {});
    deps.onSourceChange(null);
  }
}

/**
 * A source that batches on its own (natural batching): it is asked for the
 * next batch only when the resolve stage has room for it (two batches in
 * flight at most: the next one starts while the previous one finishes), so
 * the batch holds everything the source collected meanwhile and no batch
 * sits sealed in a queue while newer changes wait behind it. On stop, the
 * batches in hand are finished and acknowledged; what the source still
 * holds is delivered again on restart.
 */
async function pullWhenReady(source: ChangeSource, buffered: { ready(): number }, deps: SourceLoopDeps, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  const inFlight = new InFlight(source, deps, () => buffered.ready());
  let pulling = true;
  // Waiting for a batch: once the one in flight is acknowledged, stopping the source ends the iteration.
  const stopWaiting = () => {
    if (pulling) void inFlight.acknowledged().catch(() => {}).then(() => source.stop());
  };
  signal.addEventListener('abort', stopWaiting, { once: true });
  try {
    for await (const batch of source.batches()) {
      pulling = false;
      await inFlight.start(batch);
      if (signal.aborted) {
        // Acknowledged while the source is still connected (its last status carries them).
        await inFlight.acknowledged();
        break;
      }
      pulling = true;
    }
    await inFlight.acknowledged();
  } finally {
    await inFlight.settled();
    signal.removeEventListener('abort', stopWaiting);
  }
}

/**
 * Other sources: capture reads ahead into a bounded queue (`queueDepth`
 * batches) while batches are resolved in order. On stop, take no new
 * batches but finish and acknowledge the queued ones while the source is
 * still connected; the source closes afterwards.
 */
async function queueAhead(source: ChangeSource, deps: SourceLoopDeps, signal: AbortSignal): Promise<void> {
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
  const inFlight = new InFlight(source, deps, () => queue.size);
  try {
    for await (const batch of queue) await inFlight.start(batch);
    await inFlight.acknowledged();
  } finally {
    await inFlight.settled();
    signal.removeEventListener('abort', stopTaking);
    await source.stop().catch(() => {});
    queue.close();
    await capture;
  }
}

/**
 * Batches handled two at a time at most and acknowledged in order: a batch
 * is started (with the signals of the one before it, see BatchTurn), then
 * the one before it is awaited and acknowledged.
 */
class InFlight {
  private readonly turns = new Turns();
  private previous: Promise<void> = Promise.resolve();
  private latest: Promise<void> = Promise.resolve();

  constructor(private readonly source: ChangeSource, private readonly deps: SourceLoopDeps, private readonly backlog: () => number) {}

  /** Starts `batch`; resolves once the batch before it is durable and acknowledged (rejects if it failed). */
  async start(batch: ChangeBatch): Promise<void> {
    const handled = this.turns.start((turn) => this.deps.handle(batch, turn));
    this.latest = handled;
    await this.previous;
    this.previous = handled.then(async () => {
      await this.source.acknowledge(batch.position);
      this.deps.onDurable(batch, this.backlog());
    });
  }

  /** Resolves once every batch started is durable and acknowledged (rejects if one failed). */
  acknowledged(): Promise<void> {
    return this.previous;
  }

  /** Resolves once the last batch started has ended, failed or not: a batch behind one that failed fails too, and must end before the source goes. */
  settled(): Promise<void> {
    return this.latest.catch(() => {});
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
