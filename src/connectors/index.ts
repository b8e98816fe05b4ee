export type {
  Connector, ConnectorConfig, ConnectorPreflight, DebeziumLayout, ParsedSystem, PreflightContext, SourceContext, SourceStatus,
  StatusContext, SystemContext, SystemIssue, TargetContext,
} from './types';
export { connectorFor, connectorOf, debeziumConnectorNames, isSystemType, systemTypes } from './registry';
export { debeziumCapture, debeziumLayoutOf, debeziumSource, debeziumTables, debeziumTopics, kafkaConnection } from './debezium';
export type { DebeziumCaptureConfig } from './debezium';
export { checkpointLag } from './sql';
export type { PostgresCaptureConfig } from './postgres';
export type { MysqlCaptureConfig } from './mysql';
export type { SqlserverCaptureConfig } from './sqlserver';
export type { RestSettings, RestEndpointConfig, RestAuthConfig } from './rest';
