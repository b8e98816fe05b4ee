import { isRetriable } from './errors';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Each delay is multiplied by this. */
  factor: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, initialDelayMs: 100, maxDelayMs: 30_000, factor: 2 };

/** Full-jitter exponential backoff: a random delay up to the capped exponential. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** Math.max(0, attempt - 1));
  return Math.round(ceiling * random());
}

/**
 * The backoff of a loop that keeps going (a source, an apply stage): each
 * failure waits longer, up to the policy's ceiling; progress resets it.
 */
export class Backoff {
  private failures = 0;

  constructor(private readonly policy: RetryPolicy) {}

  /** Counts a failure and returns how long to wait before trying again. */
  next(): number {
    this.failures++;
    return backoffDelay(this.policy, this.failures);
  }

  /** Failures since the last progress. */
  get count(): number {
    return this.failures;
  }

  reset(): void {
    this.failures = 0;
  }
}

export interface RetryHooks {
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

/**
 * Runs `fn` until it succeeds, fails with an error that is not retriable, or
 * runs out of attempts. The one place tandem retries.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY, hooks: RetryHooks = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isRetriable(error) || attempt >= policy.maxAttempts || hooks.signal?.aborted) throw error;
      const delayMs = backoffDelay(policy, attempt);
      hooks.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, hooks.signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
