export type { PipelineStats, PipelineOptions, RunningPipeline, PipelineView, HttpExtension } from './types';
export type { ComponentHealth, ComponentState } from './health';
export { startPipeline } from './pipeline';
export { BoundedQueue } from './bounded-queue';
export { kafkaConnection, systemUrl, capturedSystems } from './runtime';
export type { SnapshotState, SnapshotTableProgress } from './snapshot-progress';
export { HandOff, TaskQueue } from './hand-off';
export type { LetterAccess } from './letter-actions';
export { retryTaskLetter, EventRetrier, discardLetter, discardEntry, taskOf, eventOf } from './letter-actions';
