export type { PipelineStats, PipelineOptions, RunningPipeline } from './types';
export { startPipeline } from './pipeline';
export { BoundedQueue } from './bounded-queue';
export { kafkaConnection, systemUrl, capturedSystems } from './runtime';
export type { SnapshotState, SnapshotTableProgress } from './snapshot-progress';
