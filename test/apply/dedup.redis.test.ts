import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisDedup, rowFingerprint } from '../../src/apply';
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
    expect(await dedup.wasApplied('t1')).toBe(false);
    await dedup.markApplied('t1');
    await dedup.markApplied('t1');
    expect(await dedup.wasApplied('t1')).toBe(true);
    expect(await dedup.wasApplied('t2')).toBe(false);
  });

  it('recognises an echo of its own write once, by fingerprint', async () => {
    const written = { id: 7, name: 'Acme', credit: '10.50', tags: { b: 1, a: [1, 2] } };
    await dedup.rememberWrite('erp', 'public.customers', '7', written);
    // A different row (someone else's edit) is not an echo, and does not consume it.
    expect(await dedup.isEchoWrite('erp', 'public.customers', '7', { ...written, name: 'Other' })).toBe(false);
    // Same values, other key order: the same fingerprint.
    const echoed = { tags: { a: [1, 2], b: 1 }, credit: '10.50', name: 'Acme', id: 7 };
    expect(await dedup.isEchoWrite('erp', 'public.customers', '7', echoed)).toBe(true);
    expect(await dedup.isEchoWrite('erp', 'public.customers', '7', echoed)).toBe(false);
    expect(await dedup.isEchoWrite('erp', 'public.customers', '8', echoed)).toBe(false);
  });

  it('recognises both echoes of two quick writes to one row', async () => {
    await dedup.rememberWrite('erp', 'public.customers', '9', { name: 'A' });
    await dedup.rememberWrite('erp', 'public.customers', '9', { name: 'B' });
    expect(await dedup.isEchoWrite('erp', 'public.customers', '9', { name: 'A' })).toBe(true);
    expect(await dedup.isEchoWrite('erp', 'public.customers', '9', { name: 'B' })).toBe(true);
  });

  it('uses the documented keys, each with the TTL', async () => {
    await dedup.markEvents(['ttl-e']);
    await dedup.markApplied('ttl-t');
    await dedup.rememberWrite('crm', 'public.accounts', 'k1', { a: 1 });
    for (const key of [`${prefix}event:ttl-e`, `${prefix}task:ttl-t`, `${prefix}echo:crm:public.accounts:k1`]) {
      const ttl = await redis.ttl(key);
      expect(ttl, key).toBeGreaterThan(3500);
      expect(ttl, key).toBeLessThanOrEqual(3600);
    }
    expect(await redis.smembers(`${prefix}echo:crm:public.accounts:k1`)).toEqual([rowFingerprint({ a: 1 })]);
  });

  it('defaults the TTL to 7 days', async () => {
    const defaults = new RedisDedup({ url, keyPrefix: prefix });
    try {
      await defaults.markApplied('ttl-default');
      expect(await redis.ttl(`${prefix}task:ttl-default`)).toBeGreaterThan(7 * 24 * 3600 - 10);
    } finally {
      await defaults.close();
    }
  });
});
