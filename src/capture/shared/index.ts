/** Capture plumbing every source uses: batch assembly, the bounded hand-off queue, ack tracking, event size estimates, logging. */
export { BatchAssembler } from './batch-assembler';
export type { PendingBatch } from './batch-assembler';
export { BatchQueue } from './batch-queue';
export type { BatchQueueOptions, BatchSupplier } from './batch-queue';
export { AckTracker } from './ack-tracker';
export { captureLimits, DEFAULT_CAPTURE_BUFFER_BYTES, estimateEventBytes, estimateRowBytes, EVENT_OVERHEAD_BYTES, snapshotBytes, WIRE_TO_MEMORY } from './event-size';
export type { CaptureLimits } from './event-size';
export type { LogFn, LogLevel } from './log';
