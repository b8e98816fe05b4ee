import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { flushPrefix, redisPrefix, requireEnv } from './index';

describe('test Redis server', () => {
  const url = requireEnv('TANDEM_TEST_REDIS_URL');

  it('answers PING', async () => {
    const redis = new Redis(url);
    try {
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });

  it('flushPrefix deletes the keys with its prefix and no others', async () => {
    const mine = redisPrefix('smoke');
    const other = redisPrefix('smoke');
    expect(mine).not.toBe(other);
    const redis = new Redis(url);
    try {
      const pipeline = redis.pipeline();
      for (let i = 0; i < 1200; i++) pipeline.set(`${mine}k${i}`, 'x');
      pipeline.set(`${other}k`, 'y');
      await pipeline.exec();
      expect(await flushPrefix(url, mine)).toBe(1200);
      expect(await redis.exists(`${mine}k0`)).toBe(0);
      expect(await redis.get(`${other}k`)).toBe('y');
    } finally {
      await flushPrefix(url, other);
      redis.disconnect();
    }
  });
});
