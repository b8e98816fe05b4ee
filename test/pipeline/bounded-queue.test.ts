import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../src/pipeline';
import { backoffDelay, withRetry } from '../../src/retry';
import { ApplyError } from '../../src/errors';

describe('BoundedQueue', () => {
  it('makes the producer wait while full, so a slow consumer bounds memory', async () => {
    const queue = new BoundedQueue<number>(2);
    let pushed = 0;
    const producer = (async () => {
      for (let i = 0; i < 5; i++) {
        await queue.push(i);
        pushed++;
      }
      queue.close();
    })();
    await new Promise((r) => setTimeout(r, 20));
    expect(pushed).toBe(2);
    expect(queue.size).toBe(2);
    const seen: number[] = [];
    for await (const item of queue) seen.push(item);
    await producer;
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it('hands over everything in order and ends with the producer’s failure', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.integer(), { maxLength: 50 }), fc.integer({ min: 1, max: 5 }), async (items, capacity) => {
      const queue = new BoundedQueue<number>(capacity);
      const failure = new Error('source lost');
      void (async () => {
        for (const item of items) await queue.push(item);
        queue.close(failure);
      })();
      const seen: number[] = [];
      await expect((async () => { for await (const item of queue) seen.push(item); })()).rejects.toBe(failure);
      expect(seen).toEqual(items);
    }));
  });
});

describe('retry', () => {
  const policy = { maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 1_000, factor: 2 };

  it('backs off exponentially with full jitter, capped', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 30 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
      const delay = backoffDelay(policy, attempt, () => r);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(Math.min(1_000, 100 * 2 ** (attempt - 1)));
    }));
  });

  it('retries what is retriable up to the limit, and nothing else', async () => {
    let calls = 0;
    const transient = () => new ApplyError('503', { retriable: true });
    await expect(withRetry(async () => { calls++; throw transient(); }, { ...policy, initialDelayMs: 1, maxDelayMs: 1 })).rejects.toThrow('503');
    expect(calls).toBe(4);
    calls = 0;
    await expect(withRetry(async () => { calls++; throw new ApplyError('422', { retriable: false }); }, policy)).rejects.toThrow('422');
    expect(calls).toBe(1);
    calls = 0;
    expect(await withRetry(async (attempt) => { calls++; if (attempt < 3) throw transient(); return 'ok'; }, { ...policy, initialDelayMs: 1 })).toBe('ok');
    expect(calls).toBe(3);
  });
});
