/** Which topics a Debezium-captured system is read from. */
import type { Position } from '../change-event';
import { hex } from '../debezium/position';

/**
 * Debezium's topic per mapped table: `<topic.prefix>.<schema>.<table>`
 * (MySQL/MariaDB: `<prefix>.<database>.<table>`, the mapping's schema being
 * the database). A table without a schema is in `public` (PostgreSQL).
 */
export function defaultTopics(topicPrefix: string, tables: string[], defaultSchema = 'public'): string[] {
  return tables.map((t) => (t.includes('.') ? `${topicPrefix}.${t}` : `${topicPrefix}.${defaultSchema}.${t}`));
}

/** The topics to subscribe to now: the wanted ones the broker has (a connector creates its topics on its first record). */
export function topicsToRead(existing: readonly string[], wanted: { topics?: string[]; topicPattern?: string; heartbeatTopic?: string }): string[] {
  const have = new Set(existing);
  const out = new Set<string>();
  for (const t of wanted.topics ?? []) if (have.has(t)) out.add(t);
  if (wanted.topicPattern) {
    const re = new RegExp(`^(?:${wanted.topicPattern})$`);
    for (const t of existing) if (re.test(t)) out.add(t);
  }
  if (wanted.heartbeatTopic && have.has(wanted.heartbeatTopic)) out.add(wanted.heartbeatTopic);
  return [...out].sort();
}

export interface KafkaCoordinate {
  topic: string;
  partition: number;
  offset: string;
}

/** `<topic>/<partition, 8 hex>/<offset, 16 hex>` (see debezium/position.ts) → its parts. */
export function parseKafkaPosition(position: Position): KafkaCoordinate {
  const m = /^(.*)\/([0-9A-F]{8})\/([0-9A-F]{16})$/.exec(position);
  if (!m) throw new Error(`not a Kafka position: ${position}`);
  return { topic: m[1]!, partition: Number.parseInt(m[2]!, 16), offset: BigInt(`0x${m[3]!}`).toString() };
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}/${hex(BigInt(partition), 8)}`;
}
