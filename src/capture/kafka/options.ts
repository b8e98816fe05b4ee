/** What the Kafka source needs, and the kafkajs client settings it derives from it. */
import type { ConnectionOptions } from 'node:tls';
import kafkajs from 'kafkajs';
import type { LogFn } from '../shared';

/** Broker connection, secrets already read (the runtime reads them with readSecret). */
export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  ssl: boolean | { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

export interface KafkaSourceOptions {
  /** The tandem system these topics belong to. */
  system: string;
  connection: KafkaConnection;
  /** Consumer group; every instance of one deployment uses the same one per system. */
  groupId: string;
  /** Topics to read (change topics; the heartbeat topic is added from `heartbeatTopic`). */
  topics?: string[];
  /** Or a regular expression of topics, matched against the broker's topic list. */
  topicPattern?: string;
  /** Debezium's heartbeat topic (`<heartbeat prefix>.<topic prefix>`); read when it exists. */
  heartbeatTopic?: string;
  heartbeatTopicPrefix?: string;
  /** `schema.table` (MySQL: `database.table`) names tandem maps; messages about other tables are parked. */
  tables?: string[];
  /** MySQL/MariaDB envelopes carry the database, not a schema: it is used as the schema. */
  databaseIsSchema?: boolean;
  unavailableValuePlaceholder?: string;
  maxBatchEvents?: number;
  sessionTimeoutMs?: number;
  partitionsConsumedConcurrently?: number;
  fromBeginning?: boolean;
  /** Batches handed to the pipeline but not yet pulled; the consumer waits beyond this. */
  maxQueuedBatches?: number;
  /** A partition whose batch waits longer than this for the pipeline is paused until it is done. */
  pauseAfterMs?: number;
  /** On a rebalance, in-flight batches get this long to be acknowledged (and committed) before they are abandoned. */
  rebalanceGraceMs?: number;
  /** How often the broker's topic list is checked for subscribed topics that appeared or vanished. */
  topicRefreshMs?: number;
  /** kafkajs fetch sizes: Debezium JSON with schemas is a few kB per message. */
  maxBytesPerPartition?: number;
  log?: LogFn;
}

export type ResolvedOptions = Required<Omit<KafkaSourceOptions, 'topics' | 'topicPattern' | 'heartbeatTopic' | 'tables' | 'unavailableValuePlaceholder' | 'log'>>
  & Pick<KafkaSourceOptions, 'topics' | 'topicPattern' | 'heartbeatTopic' | 'tables' | 'unavailableValuePlaceholder'>
  & { log: LogFn };

export function resolveOptions(o: KafkaSourceOptions): ResolvedOptions {
  const sessionTimeoutMs = o.sessionTimeoutMs ?? 30_000;
  return {
    ...o,
    heartbeatTopicPrefix: o.heartbeatTopicPrefix ?? '__debezium-heartbeat',
    databaseIsSchema: o.databaseIsSchema ?? false,
    maxBatchEvents: o.maxBatchEvents ?? 2_000,
    sessionTimeoutMs,
    partitionsConsumedConcurrently: o.partitionsConsumedConcurrently ?? 4,
    fromBeginning: o.fromBeginning ?? true,
    maxQueuedBatches: o.maxQueuedBatches ?? 8,
    pauseAfterMs: o.pauseAfterMs ?? Math.max(1_000, Math.floor(sessionTimeoutMs / 3)),
    rebalanceGraceMs: o.rebalanceGraceMs ?? 5_000,
    topicRefreshMs: o.topicRefreshMs ?? 10_000,
    maxBytesPerPartition: o.maxBytesPerPartition ?? 16 * 1024 * 1024,
    log: o.log ?? (() => {}),
  };
}

/** kafkajs client configuration: brokers, SSL and SASL; kafkajs' own logging off (errors reach us as events). */
export function kafkaClientConfig(connection: KafkaConnection): kafkajs.KafkaConfig {
  const { ssl, sasl } = connection;
  const tls: boolean | ConnectionOptions = typeof ssl === 'boolean' ? ssl : { ca: ssl.ca, cert: ssl.cert, key: ssl.key, rejectUnauthorized: ssl.rejectUnauthorized };
  return {
    clientId: connection.clientId,
    brokers: connection.brokers,
    ssl: tls,
    sasl: sasl ? saslOptions(sasl) : undefined,
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 200 },
  };
}

function saslOptions(sasl: NonNullable<KafkaConnection['sasl']>): kafkajs.SASLOptions {
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case 'plain': return { mechanism: 'plain', username, password };
    case 'scram-sha-256': return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512': return { mechanism: 'scram-sha-512', username, password };
  }
}
