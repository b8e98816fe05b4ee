/** What `decodeDebeziumMessage` takes and gives. */
import type { ChangeEvent, Position, Row, SourceInfo, Value } from '../change-event';
import type { ConnectSchema } from './connect-schema';

/**
 * One Kafka record. `key` and `value` may be the raw bytes or text (parsed
 * here without losing big numbers: prefer these) or JSON already parsed
 * (numbers beyond 2^53 are then already rounded).
 */
export interface DebeziumMessageInput {
  key: unknown | null;
  value: unknown | null;
  topic?: string;
  partition?: number;
  /** Kafka offset, as kafkajs gives it (a decimal string). */
  offset?: string;
  /** tandem system the topic belongs to; defaults to the connector's `source.name`. */
  system?: string;
}

export interface DebeziumDecodeOptions {
  /** Overrides `input.system`. */
  system?: string;
  /** Topics starting with this carry heartbeats. Debezium's default `__debezium-heartbeat`. */
  heartbeatTopicPrefix?: string;
  /** The connector's `unavailable.value.placeholder`. */
  unavailableValuePlaceholder?: string;
  /**
   * Schemas for columns of schema-less messages (`schemas.enable=false`),
   * keyed `<table>.<column>`: with them a precise decimal's base64 or a
   * MicroTimestamp's number decodes as it would with the schema.
   */
  columnSchemas?: Record<string, ConnectSchema>;
}

export interface KafkaCoordinates {
  topic: string;
  partition: number | null;
  offset: string | null;
  /** `<topic>/<partition>/<offset>` encoded for ordering (see position.ts); null without partition and offset. */
  position: Position | null;
}

/** Debezium's per-event `transaction` block. */
export interface TransactionBlock {
  id: string;
  totalOrder: number;
  dataCollectionOrder: number;
}

export interface DataCollectionCount {
  dataCollection: string;
  eventCount: number;
}

interface Common {
  kafka: KafkaCoordinates | null;
  /** Whether the value carried a Connect schema (`schemas.enable=true`). */
  hasSchema: boolean;
}

export type DebeziumRecord =
  | (Common & { kind: 'change'; event: ChangeEvent; transaction: TransactionBlock | null })
  | (Common & { kind: 'tombstone'; key: Row | null })
  | (Common & { kind: 'heartbeat'; tsMs: number | null; serverName: string | null })
  | (Common & {
      kind: 'transaction';
      status: 'BEGIN' | 'END';
      id: string;
      eventCount: number | null;
      dataCollections: DataCollectionCount[] | null;
      tsMs: number;
    })
  | (Common & {
      kind: 'schema-change';
      databaseName: string | null;
      schemaName: string | null;
      ddl: string | null;
      tableChanges: Value[];
      source: SourceInfo | null;
      tsMs: number | null;
    })
  | (Common & {
      kind: 'message';
      prefix: string;
      /** The message bytes, base64. */
      content: string;
      transactional: boolean;
      source: SourceInfo;
      tsMs: number;
    });
