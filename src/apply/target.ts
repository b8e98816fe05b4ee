import type { Crosswalk, Mapping } from '../transform';
import type { KeyAllocations } from './key-allocation';
import type { ApplyOutcome, ApplyTask } from './task';

/**
 * What a target is told about the tasks it applies: the table (or endpoint)
 * mapping of their entity and how keys cross between systems. Nothing in it
 * is particular to SQL; each kind of target reads what it needs.
 */
export interface ApplyContext {
  mapping: Mapping;
  crosswalk: Crosswalk;
  /** Mappings of referenced entities in this system (to read reference columns as local keys). */
  refMappings: (entity: string) => Mapping | undefined;
  /** Keys allocated before insert (mappings with an allocated key need it). */
  allocations?: KeyAllocations;
  /**
   * The target owns the entity's existence (its creates and deletes): a row
   * of it that is gone was deleted by its owner, and a propagated change does
   * not put it back (a correction still does).
   */
  ownsExistence?: boolean;
}

/** One task's end in `applyBatch`: an outcome, or the error it failed with. */
export type BatchResult = { task: ApplyTask; outcome: ApplyOutcome; error?: undefined } | { task: ApplyTask; outcome?: undefined; error: unknown };

/**
 * What the apply stage needs of a target, whatever it is written through
 * (SQL: SqlTarget; REST: RestTarget; a new system type: its connector's
 * target). `applyBatch` has the effect of applying each task in turn and
 * reports one task's failure for that task alone.
 */
export interface ApplyTarget {
  readonly system: string;
  applyBatch(tasks: ApplyTask[], ctx: ApplyContext): Promise<BatchResult[]>;
  close(): Promise<void>;
}
