export { SqlTarget } from './sql-target';
export type { SqlTargetOptions, SqlApplyContext, BatchResult } from './sql-target';
export type { Dedup } from './dedup';
export { RedisDedup, StoreDedup, rowFingerprint, canonicalJson, DEFAULT_DEDUP_TTL_SECONDS } from './dedup';
export type { RedisDedupOptions, StoreDedupOptions } from './dedup';
export { isTandemOrigin, originSlotName } from './origin';
export { deterministicUuid } from './deterministic-uuid';
export type { ApplyTask, ApplyOutcome } from './task';
