/**
 * The one failure model: how errors are classified, how the source loop reacts
 * to each kind (restart with backoff, or mark the source failed and stop or
 * isolate it), and what the health board reports.
 */
import { describe, expect, it } from 'vitest';
import type { ChangeBatch, ChangeSource } from '../../src/capture';
import { ApplyError, CaptureError, classifyFailure, ConfigError, isRetriable } from '../../src/errors';
import { createLogger } from '../../src/log';
import { HealthBoard } from '../../src/pipeline/health';
import { runSourceLoop, SourceFailedError } from '../../src/pipeline/source-loop';
import { Backoff } from '../../src/retry';

const FAST = { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2, factor: 2 };
const silent = createLogger('error');
silent.silent = true;

describe('classifyFailure', () => {
  const driver = (fields: Record<string, unknown>) => Object.assign(new Error('driver error'), fields);

  it.each([
    ['a lost socket', driver({ code: 'ECONNRESET' }), 'transient'],
    ['PostgreSQL admin shutdown', driver({ code: '57P01' }), 'transient'],
    ['a PostgreSQL deadlock', driver({ code: '40P01' }), 'transient'],
    ['a MariaDB lock wait timeout by number', driver({ errno: 1205 }), 'transient'],
    ['ioredis giving up on a command', driver({ name: 'MaxRetriesPerRequestError', message: 'Reached the max retries per request limit (which is 1).' }), 'transient'],
    ['ioredis with the connection down', new Error("Stream isn't writeable and enableOfflineQueue options is false"), 'transient'],
    ['a missing PostgreSQL table', driver({ code: '42P01' }), 'permanent'],
    ['a missing privilege', driver({ code: '42501' }), 'permanent'],
    ['wal_level too low (object not in prerequisite state)', driver({ code: '55000' }), 'permanent'],
    ['a purged binlog (MariaDB 1236)', driver({ errno: 1236 }), 'permanent'],
    ['a plain Error', new Error('something odd'), 'unknown'],
    ['a config error', new ConfigError('bad'), 'config'],
    ['a retriable apply error', new ApplyError('x', { retriable: true }), 'transient'],
    ['a rejected apply', new ApplyError('x', { retriable: false }), 'permanent'],
  ])('%s is %s', (_name, error, kind) => {
    expect(classifyFailure(error)).toBe(kind);
  });

  it('a wrapped capture error is as retriable as its cause, unless it says otherwise', () => {
    expect(new CaptureError('lost', {}, { cause: driver({ code: 'ECONNRESET' }) }).retriable).toBe(true);
    expect(new CaptureError('no table', {}, { cause: driver({ code: '42P01' }) }).retriable).toBe(false);
    expect(new CaptureError('odd', {}, { cause: new Error('odd') }).retriable).toBe(true);
    const off = new CaptureError('the binary log is off', {}, { retriable: false });
    expect([off.retriable, off.code, classifyFailure(off)]).toEqual([false, 'CAPTURE_UNUSABLE', 'permanent']);
    expect(isRetriable(new CaptureError('stream ended'))).toBe(true);
  });
});

describe('Backoff', () => {
  it('grows up to the ceiling and starts again after progress', () => {
    const backoff = new Backoff({ maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 400, factor: 2 });
    const delays = Array.from({ length: 6 }, () => backoff.next());
    expect(backoff.count).toBe(6);
    for (const d of delays) expect(d).toBeLessThanOrEqual(400);
    backoff.reset();
    expect(backoff.count).toBe(0);
    expect(backoff.next()).toBeLessThanOrEqual(100);
  });
});

describe('HealthBoard', () => {
  it('reports transitions once, keeps the time a state began, and is ready only when all are ok', () => {
    const board = new HealthBoard();
    expect(board.set('redis', 'ok')).toBe(true);
    expect(board.allOk()).toBe(true);
    expect(board.set('redis', 'degraded', 'ECONNREFUSED')).toBe(true);
    const since = board.get('redis')!.sinceMs;
    expect(board.set('redis', 'degraded', 'ECONNREFUSED')).toBe(false);
    expect(board.set('redis', 'degraded', 'ETIMEDOUT')).toBe(false);
    expect(board.get('redis')).toMatchObject({ state: 'degraded', reason: 'ETIMEDOUT', sinceMs: since });
    expect(board.allOk()).toBe(false);
    expect(board.report()).toMatch(/^redis: degraded since \S+: ETIMEDOUT$/);
    board.set('redis', 'ok');
    expect(board.get('redis')!.reason).toBeNull();
  });
});

/** A source whose start fails with the given errors, one per attempt; then it yields nothing until stopped. */
function scriptedSource(failures: unknown[]): { createSource: () => Promise<ChangeSource>; attempts: () => number } {
  let attempts = 0;
  const createSource = async (): Promise<ChangeSource> => {
    const failure = failures[attempts++];
    if (failure !== undefined) throw failure;
    let stop: () => void = () => {};
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    return {
      async *batches(): AsyncGenerator<ChangeBatch> {
        await stopped;
      },
      acknowledge: async () => {},
      stop: async () => stop(),
      stats: async () => ({}),
    } as unknown as ChangeSource;
  };
  return { createSource, attempts: () => attempts };
}

function loopDeps(createSource: () => Promise<ChangeSource>, onSourceFailure: 'stop' | 'isolate', health: HealthBoard) {
  return {
    system: 'erp', createSource, handle: async () => {}, queueDepth: 2, retry: FAST, logger: silent,
    onDurable: () => {}, onSourceChange: () => {}, health, onSourceFailure,
  };
}

describe('runSourceLoop failure policy', () => {
  const permanent = () => new CaptureError('the binary log is off on the source server (log_bin)', { system: 'erp' }, { retriable: false });

  it('a permanent fault fails the source at once; with onSourceFailure: stop the loop rejects with the reason', async () => {
    const health = new HealthBoard();
    const source = scriptedSource([permanent()]);
    const run = runSourceLoop(loopDeps(source.createSource, 'stop', health), new AbortController().signal);
    await expect(run).rejects.toThrow(SourceFailedError);
    await expect(run).rejects.toThrow(/source erp failed: the binary log is off/);
    expect(source.attempts()).toBe(1);
    expect(health.get('source:erp')).toMatchObject({ state: 'failed' });
  });

  it('with onSourceFailure: isolate the loop ends quietly and the board says failed, with the reason', async () => {
    const health = new HealthBoard();
    const source = scriptedSource([permanent()]);
    await runSourceLoop(loopDeps(source.createSource, 'isolate', health), new AbortController().signal);
    expect(source.attempts()).toBe(1);
    expect(health.get('source:erp')!.reason).toMatch(/binary log is off/);
    expect(health.allOk()).toBe(false);
  });

  it('transient faults restart the source (degraded meanwhile) however many there are', async () => {
    const health = new HealthBoard();
    const lost = () => new CaptureError('replication connection lost', { system: 'erp' }, { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) });
    const source = scriptedSource([lost(), lost(), lost(), lost(), lost(), lost()]);
    const abort = new AbortController();
    const run = runSourceLoop(loopDeps(source.createSource, 'stop', health), abort.signal);
    while (source.attempts() < 7) await new Promise((r) => setTimeout(r, 5));
    expect(health.get('source:erp')!.state).toBe('degraded');
    abort.abort();
    await run;
  });

  it('an unclassified fault is retried maxAttempts times, then treated as permanent', async () => {
    const health = new HealthBoard();
    const odd = () => new Error('something odd');
    const source = scriptedSource([odd(), odd(), odd(), odd(), odd()]);
    await expect(runSourceLoop(loopDeps(source.createSource, 'stop', health), new AbortController().signal)).rejects.toThrow(/something odd/);
    expect(source.attempts()).toBe(FAST.maxAttempts + 1);
  });
});
