export { decodeDebeziumMessage, decodeConnectValue, DEFAULT_HEARTBEAT_PREFIX } from './decode-message';
export type {
  DebeziumMessageInput, DebeziumDecodeOptions, DebeziumRecord, KafkaCoordinates, TransactionBlock, DataCollectionCount,
} from './types';
export type { ConnectSchema } from './connect-schema';
export { parseJsonLossless, JsonNumber, JsonSyntaxError } from './lossless-json';
export type { Json, JsonObject } from './lossless-json';
export { kafkaPosition, postgresPosition, mysqlPosition, sqlServerPosition } from './position';
export { DEFAULT_PLACEHOLDER as DEBEZIUM_UNAVAILABLE_PLACEHOLDER } from './values';
