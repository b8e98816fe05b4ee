/**
 * Deduplication: makes redelivery harmless. An event already processed, or a
 * task already applied, is not applied twice. (Echoes of tandem's own writes
 * are recognised by the source's tag — a replication origin, a MariaDB
 * server_id — before resolution, not here.)
 */

export interface Dedup {
  /** The ids among `ids` already marked. */
  seenEvents(ids: string[]): Promise<Set<string>>;
  markEvents(ids: string[]): Promise<void>;
  /** The task ids among `ids` already marked applied (one round trip for a chunk). */
  appliedTasks(ids: string[]): Promise<Set<string>>;
  markApplied(ids: string[]): Promise<void>;
  /** Forgets marks older than a mark needs to live, where the store does not expire them itself. */
  prune?(): Promise<number>;
  close(): Promise<void>;
  readonly kind: 'redis' | 'state-store';
}

/** 7 days: longer than any outage the outbox and the slots are sized for. */
export const DEFAULT_DEDUP_TTL_SECONDS = 7 * 24 * 3600;

export { RedisDedup, type RedisDedupOptions } from './dedup-redis';
export { FailoverDedup, type DedupOutageHooks } from './dedup-failover';
export { StoreDedup, type StoreDedupOptions } from './dedup-store';
