import { isTransient } from '../errors';
import type { Dedup } from './dedup';
import type { RedisDedup } from './dedup-redis';
import type { StoreDedup } from './dedup-store';

export interface DedupOutageHooks {
  /** Redis became unusable; dedup continues in the state store. */
  onOutage(reason: string): void;
  /** Redis answers again. */
  onRecovered(outageMs: number): void;
}

/**
 * Redis dedup that survives Redis going away: while Redis cannot be reached,
 * marks are read from and written to the state store's dedup table (the
 * path the embedded demo uses), so the pipeline keeps applying. Marks written
 * there during an outage are also consulted after Redis is back, for as long
 * as a Redis mark would have lived (the TTL), so that nothing recorded during
 * the outage is forgotten. Errors that are not connection errors propagate.
 */
export class FailoverDedup implements Dedup {
  readonly kind = 'redis' as const;
  private outageSinceMs: number | null = null;
  /** Until when marks written to the state store must still be consulted. */
  private fallbackRelevantUntilMs = 0;

  constructor(
    private readonly redis: RedisDedup,
    private readonly store: StoreDedup,
    private readonly hooks: DedupOutageHooks,
  ) {}

  /** Whether dedup currently runs in the state store. */
  get degraded(): boolean {
    return this.outageSinceMs !== null;
  }

  /** Called by RedisDedup's connection events. */
  connectionChanged(up: boolean, reason: string | null): void {
    if (up) this.recovered();
    else this.outage(reason ?? 'connection lost');
  }

  seenEvents(ids: string[]): Promise<Set<string>> {
    return this.read(
      (d) => d.seenEvents(ids),
      async (found) => {
        const missing = ids.filter((id) => !found.has(id));
        for (const id of await this.store.seenEvents(missing)) found.add(id);
        return found;
      },
    );
  }

  markEvents(ids: string[]): Promise<void> {
    return this.write((d) => d.markEvents(ids));
  }

  appliedTasks(ids: string[]): Promise<Set<string>> {
    return this.read(
      (d) => d.appliedTasks(ids),
      async (found) => {
        const missing = ids.filter((id) => !found.has(id));
        for (const id of await this.store.appliedTasks(missing)) found.add(id);
        return found;
      },
    );
  }

  markApplied(ids: string[]): Promise<void> {
    return this.write((d) => d.markApplied(ids));
  }

  /** Forgets state-store marks older than a Redis mark lives. */
  prune(): Promise<number> {
    const now = Date.now();
    return this.store.prune(new Date(now - this.redis.ttlSeconds * 1000));
  }

  async close(): Promise<void> {
    await this.redis.close();
  }

  /** Reads from Redis (plus the state store while its outage marks still matter), or from the state store alone. */
  private async read<T>(op: (d: Dedup) => Promise<T>, alsoFromStore: (fromRedis: T) => Promise<T>): Promise<T> {
    if (!this.redis.connected) this.outage(this.redis.lastErrorText ?? 'not connected');
    else {
      try {
        const fromRedis = await op(this.redis);
        return Date.now() < this.fallbackRelevantUntilMs ? await alsoFromStore(fromRedis) : fromRedis;
      } catch (error) {
        if (!isTransient(error)) throw error;
        this.outage(describe(error));
      }
    }
    return op(this.store);
  }

  private async write(op: (d: Dedup) => Promise<void>): Promise<void> {
    if (!this.redis.connected) this.outage(this.redis.lastErrorText ?? 'not connected');
    else {
      try {
        return await op(this.redis);
      } catch (error) {
        if (!isTransient(error)) throw error;
        this.outage(describe(error));
      }
    }
    this.fallbackRelevantUntilMs = Date.now() + this.redis.ttlSeconds * 1000;
    await op(this.store);
  }

  private outage(reason: string): void {
    if (this.outageSinceMs !== null) return;
    this.outageSinceMs = Date.now();
    this.hooks.onOutage(reason);
  }

  private recovered(): void {
    if (this.outageSinceMs === null) return;
    const outageMs = Date.now() - this.outageSinceMs;
    this.outageSinceMs = null;
    this.hooks.onRecovered(outageMs);
  }
}

function describe(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  return typeof e.code === 'string' ? e.code : String(e.message ?? error);
}
