export type { Value, Row, Op, SnapshotMarker, Position, SourceInfo, ChangeEvent } from './change-event';
export { comparePositions, correlationIdOf, eventIdOf } from './change-event';
export type { ChangeBatch, ChangeSource, SourceStats } from './source';
export { createPostgresSource } from './postgres';
export type { PostgresSourceOptions } from './postgres';
export * from './debezium';
