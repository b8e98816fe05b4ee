import type { BatchResult } from './sql-batch';
import type { SqlApplyContext } from './sql-upsert-input';
import type { ApplyTask } from './task';

/**
 * What the apply stage needs of a target, whatever it is written through
 * (SQL: SqlTarget; REST: RestTarget). `applyBatch` has the effect of applying
 * each task in turn and reports one task's failure for that task alone.
 */
export interface ApplyTarget {
  readonly system: string;
  applyBatch(tasks: ApplyTask[], ctx: SqlApplyContext): Promise<BatchResult[]>;
  close(): Promise<void>;
}
