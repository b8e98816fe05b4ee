/** Capture plumbing every source uses: batch assembly, the bounded hand-off queue, ack tracking, logging. */
export { BatchAssembler } from './batch-assembler';
export type { PendingBatch } from './batch-assembler';
export { BatchQueue } from './batch-queue';
export { AckTracker } from './ack-tracker';
export type { LogFn, LogLevel } from './log';
