export type { Value, Row, Op, SnapshotMarker, Position, SourceInfo, ChangeEvent } from './change-event';
export { comparePositions, correlationIdOf, eventIdOf } from './change-event';
export type { ChangeBatch, ChangeSource, SnapshotPlanEntry, SnapshotPlanned, SourceStats, UndecodableMessage } from './source';
export { createPostgresSource } from './postgres';
export type { PostgresSourceOptions } from './postgres';
export { createMysqlSource, emitMysqlMark } from './mysql';
export type { MysqlSourceOptions } from './mysql';
export { createSqlServerSource } from './sqlserver';
export type { SqlServerSourceOptions } from './sqlserver';
export { createKafkaSource, kafkaClientConfig, defaultTopics, parseKafkaPosition } from './kafka';
export type { KafkaSourceOptions, KafkaConnection } from './kafka';
export * from './debezium';
// Reading tables outside capture (tandem compare) with exactly the value forms capture produces.
export { decodeValue as decodePgValue } from './postgres/decode-value';
export { SESSION_OPTIONS as PG_SESSION_OPTIONS, RAW_TEXT_TYPES as PG_RAW_TEXT_TYPES } from './postgres/connection';
export { connect as connectMysql, loadTables as loadMysqlTables, quoteIdent as quoteMysqlIdent } from './mysql/schema';
export type { TableInfo as MysqlTableInfo } from './mysql/schema';
export { convertValue as convertMysqlValue } from './mysql/values';
// Plumbing any source (native or a transport) builds on.
export { BatchAssembler, BatchQueue, AckTracker, DEFAULT_CAPTURE_BUFFER_BYTES, estimateEventBytes } from './shared';
export type { PendingBatch, LogFn, LogLevel } from './shared';
