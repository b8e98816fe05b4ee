/**
 * The source loop with a source that batches on its own (`readAhead`): the
 * next batch is asked for only when the resolve stage has room for it (two
 * in flight), so nothing sits sealed in a queue while newer changes wait.
 */
import { describe, expect, it } from 'vitest';
import type { ChangeBatch, ChangeSource } from '../../src/capture';
import { createLogger } from '../../src/log';
import { HealthBoard } from '../../src/pipeline/health';
import { runSourceLoop } from '../../src/pipeline/source-loop';

const silent = createLogger('error');
silent.silent = true;
const FAST = { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2, factor: 2 };

function batch(position: string): ChangeBatch {
  return { system: 'erp', events: [], position, sourceTimeMs: 0 };
}

/** A source that hands out `count` batches, then waits until stopped; logs what happens, in order. */
function batchingSource(count: number, log: string[]) {
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  let left = count;
  const source = {
    system: 'erp',
    readAhead: { ready: () => left },
    async *batches(): AsyncGenerator<ChangeBatch> {
      for (let i = 1; i <= count; i++) {
        log.push(`pull ${i}`);
        left--;
        yield batch(String(i));
      }
      log.push('pull waits');
      await stopped;
      log.push('ended');
    },
    acknowledge: async (position: string) => void log.push(`ack ${position}`),
    stop: async () => {
      log.push('stop');
      stop();
    },
    stats: async () => ({ retainedBytes: null }),
  };
  return source as ChangeSource;
}

describe('runSourceLoop with a naturally batching source', () => {
  it('asks for the next batch only when fewer than two are in flight; a stop while waiting ends once those are acknowledged', async () => {
    const log: string[] = [];
    const abort = new AbortController();
    const backlogs: number[] = [];
    const run = runSourceLoop({
      system: 'erp', createSource: async () => batchingSource(3, log), queueDepth: 4, retry: FAST, logger: silent, health: new HealthBoard(),
      handle: async (b) => {
        log.push(`handle ${b.position}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push(`durable ${b.position}`);
      },
      onDurable: (_b, backlog) => {
        backlogs.push(backlog);
        if (backlogs.length === 3) setTimeout(() => abort.abort(), 10);
      },
      onSourceChange: () => {}, onSourceFailure: 'stop',
    }, abort.signal);
    await run;
    // Two batches in flight at most: the next is asked for only once the one before the latest is acknowledged.
    expect(log).toEqual([
      'pull 1', 'handle 1',
      'pull 2', 'handle 2', 'durable 1', 'ack 1',
      'pull 3', 'handle 3', 'durable 2', 'ack 2',
      'pull waits', 'durable 3', 'ack 3',
      'stop', 'ended', 'stop',
    ]);
    // The backlog reported with each durable batch is what the source still holds ready.
    expect(backlogs).toEqual([1, 0, 0]);
  });
});
