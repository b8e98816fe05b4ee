import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisDedup } from '../../src/apply';
import { flushPrefix, redisPrefix, requireEnv, TEST_ENV } from '../support';

describe('RedisDedup', () => {
  const url = requireEnv(TEST_ENV.redis);
  const prefix = redisPrefix('apply_dedup');
  let dedup: RedisDedup;
  let redis: Redis;

  beforeAll(() => {
    dedup = new RedisDedup({ url, keyPrefix: prefix, ttlSeconds: 3600 });
    redis = new Redis(url);
  });

  afterAll(async () => {
    await dedup?.close();
    redis?.disconnect();
    await flushPrefix(url, prefix);
  });

  it('is the redis kind', () => {
    expect(dedup.kind).toBe('redis');
  });

  it('marks and finds events in batches', async () => {
    expect(await dedup.seenEvents([])).toEqual(new Set());
    await dedup.markEvents(['e1', 'e2', 'e3']);
    expect(await dedup.seenEvents(['e0', 'e1', 'e3', 'e4'])).toEqual(new Set(['e1', 'e3']));
    await dedup.markEvents(['e3', 'e4']); // marking again is harmless
    expect(await dedup.seenEvents(['e1', 'e2', 'e3', 'e4', 'e5'])).toEqual(new Set(['e1', 'e2', 'e3', 'e4']));
  });

  it('remembers applied tasks', async () => {
    expect((await dedup.appliedTasks(['t1'])).has('t1')).toBe(false);
    await dedup.markApplied(['t1']);
    await dedup.markApplied(['t1']);
    expect((await dedup.appliedTasks(['t1'])).has('t1')).toBe(true);
    expect((await dedup.appliedTasks(['t2'])).has('t2')).toBe(false);
    // A chunk's tasks in one round trip each way.
    await dedup.markApplied(['t3', 't4']);
    expect(await dedup.appliedTasks(['t1', 't2', 't3', 't4', 't5'])).toEqual(new Set(['t1', 't3', 't4']));
  });

  it('uses the documented keys, each with the TTL', async () => {
    await dedup.markEvents(['ttl-e']);
    await dedup.markApplied(['ttl-t']);
    for (const key of [`${prefix}event:ttl-e`, `${prefix}task:ttl-t`]) {
      const ttl = await redis.ttl(key);
      expect(ttl, key).toBeGreaterThan(3500);
      expect(ttl, key).toBeLessThanOrEqual(3600);
    }
  });

  it('defaults the TTL to 7 days', async () => {
    const defaults = new RedisDedup({ url, keyPrefix: prefix });
    try {
      await defaults.markApplied(['ttl-default']);
      expect(await redis.ttl(`${prefix}task:ttl-default`)).toBeGreaterThan(7 * 24 * 3600 - 10);
    } finally {
      await defaults.close();
    }
  });
});
