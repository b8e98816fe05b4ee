/**
 * Debezium over Kafka: a capture transport, not a system type. Any database
 * connector that declares a `debezium` layout (the Debezium connector names
 * that capture it, how its topics are named) can be captured this way; the
 * system's `debezium:` settings choose it instead of native capture.
 */
import { createKafkaSource, defaultTopics, type ChangeSource, type KafkaConnection } from '../../capture';
import { qualified, readSecret, type KafkaConfig, type TandemConfig } from '../../config';
import { ConfigError } from '../../errors';
import { connectorFor } from '../registry';
import type { DebeziumLayout, SourceContext } from '../types';

export { debeziumCapture, type DebeziumCaptureConfig } from './schema';

/** How the Debezium topics of `system` are laid out (from its type's connector). */
export function debeziumLayoutOf(config: TandemConfig, system: string): DebeziumLayout {
  const spec = config.systems[system]!;
  const layout = connectorFor(spec.type).debezium;
  if (!layout) throw new ConfigError(`system ${system} (type ${spec.type}) cannot be captured through Debezium`, { system, path: `systems.${system}.debezium` });
  return layout;
}

/** The topics tandem reads for a Debezium-captured system: `debezium.topics`, or one per mapped table; undefined with a `topicPattern`. */
export function debeziumTopics(config: TandemConfig, system: string): string[] | undefined {
  const dbz = config.systems[system]!.debezium!;
  if (dbz.topics) return dbz.topics;
  if (dbz.topicPattern) return undefined;
  const tables = config.mappings.filter((m) => m.system === system).map((m) => qualified(m.table));
  return defaultTopics(dbz.topicPrefix, tables, debeziumLayoutOf(config, system).defaultSchema);
}

/** Mapped tables as the Kafka source matches them against the events' source schema and table. */
export function debeziumTables(config: TandemConfig, system: string, tables: readonly string[]): string[] {
  const { defaultSchema } = debeziumLayoutOf(config, system);
  return tables.map((t) => (t.includes('.') || defaultSchema === '' ? t : `${defaultSchema}.${t}`));
}

/**
 * A system captured by Debezium, read from Kafka. Each system has its own
 * consumer group, `<kafka.groupId>.<system>`: kafkajs' round-robin assignor
 * hands every subscribed partition to any member, so consumers of two systems
 * in one group would be given each other's topics.
 */
export function debeziumSource({ config, system, spec, env, registry, log }: SourceContext): () => Promise<ChangeSource> {
  const dbz = spec.debezium!;
  if (!config.kafka) throw new ConfigError(`system ${system} is captured through Debezium but the configuration has no kafka section`, { system, path: 'kafka' });
  const kafka = config.kafka;
  const layout = debeziumLayoutOf(config, system);
  const tables = registry.tablesOf(system);
  const topics = dbz.topics ?? (dbz.topicPattern ? undefined : defaultTopics(dbz.topicPrefix, tables, layout.defaultSchema));
  return async () => createKafkaSource({
    system,
    connection: kafkaConnection(kafka, env),
    groupId: `${kafka.groupId}.${system}`,
    topics,
    topicPattern: dbz.topicPattern,
    heartbeatTopic: `${dbz.heartbeatTopicPrefix}.${dbz.topicPrefix}`,
    heartbeatTopicPrefix: dbz.heartbeatTopicPrefix,
    tables: debeziumTables(config, system, tables),
    databaseIsSchema: layout.databaseIsSchema,
    maxBatchEvents: dbz.maxBatchEvents,
    sessionTimeoutMs: kafka.sessionTimeoutMs,
    partitionsConsumedConcurrently: kafka.partitionsConsumedConcurrently,
    fromBeginning: kafka.fromBeginning,
    log,
  });
}

export function kafkaConnection(kafka: KafkaConfig, env: NodeJS.ProcessEnv): KafkaConnection {
  const secret = (ref: Parameters<typeof readSecret>[0] | undefined, path: string) => (ref ? readSecret(ref, path, env) : undefined);
  const ssl = typeof kafka.ssl === 'boolean' ? kafka.ssl : {
    ca: secret(kafka.ssl.ca, 'kafka.ssl.ca'), cert: secret(kafka.ssl.cert, 'kafka.ssl.cert'), key: secret(kafka.ssl.key, 'kafka.ssl.key'),
    rejectUnauthorized: kafka.ssl.rejectUnauthorized,
  };
  const sasl = kafka.sasl ? { mechanism: kafka.sasl.mechanism, username: kafka.sasl.username, password: readSecret(kafka.sasl.password, 'kafka.sasl.password', env) } : undefined;
  return { brokers: kafka.brokers, clientId: kafka.clientId, ssl, sasl };
}
