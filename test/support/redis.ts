import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** A unique key prefix, `<prefix>:<8 random hex>:`, so tests sharing one Redis never collide. */
export function redisPrefix(prefix: string): string {
  return `${prefix}:${randomBytes(4).toString('hex')}:`;
}

const escapeGlob = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/** Deletes every key starting with `prefix` (SCAN + UNLINK, never KEYS). Returns how many were deleted. */
export async function flushPrefix(url: string, prefix: string): Promise<number> {
  if (prefix === '') throw new Error('flushPrefix: refusing an empty prefix');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
