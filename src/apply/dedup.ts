/**
 * Deduplication: makes redelivery harmless. An event already processed, or a
 * task already applied, is not applied twice; a write tandem made is
 * fingerprinted so that its echo through the target's change stream is
 * recognised (where the target cannot tag it, see `sql-dialect.ts`).
 */
import type { Row } from '../capture';

export interface Dedup {
  /** The ids among `ids` already marked. */
  seenEvents(ids: string[]): Promise<Set<string>>;
  markEvents(ids: string[]): Promise<void>;
  wasApplied(taskId: string): Promise<boolean>;
  markApplied(taskId: string): Promise<void>;
  /** Remembers that tandem wrote `row` to this row of the target. */
  rememberWrite(system: string, table: string, localKey: string, row: Row): Promise<void>;
  /**
   * Whether `row`, seen in the target's change stream, is a write tandem
   * remembered. A match is consumed: the same echo is recognised once.
   */
  isEchoWrite(system: string, table: string, localKey: string, row: Row): Promise<boolean>;
  /** Forgets marks older than a mark needs to live, where the store does not expire them itself. */
  prune?(): Promise<number>;
  close(): Promise<void>;
  readonly kind: 'redis' | 'state-store';
}

export { DEFAULT_DEDUP_TTL_SECONDS, rowFingerprint, canonicalJson } from './dedup-fingerprint';
export { RedisDedup, type RedisDedupOptions } from './dedup-redis';
export { FailoverDedup, type DedupOutageHooks } from './dedup-failover';
export { StoreDedup, type StoreDedupOptions } from './dedup-store';
