import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { uniqueName, waitFor } from '../support/index';

const { Kafka, logLevel } = kafkajs;

/** One consumed record, key and value as UTF-8 text (null for a null key / a tombstone). */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

export function kafkaClient(brokers: string[], clientId = 'tandem-test', { quiet = false } = {}): kafkajs.Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: quiet ? logLevel.NOTHING : logLevel.ERROR,
    retry: { retries: 8, initialRetryTime: 200 },
  });
}

/** Waits until `topic` exists with a leader for every partition (a connector creates its topics on its first record). */
export async function waitForTopic(brokers: string[], topic: string, timeoutMs = 30_000): Promise<void> {
  const admin = kafkaClient(brokers, 'tandem-test-admin', { quiet: true }).admin();
  await admin.connect();
  try {
    await waitFor(
      async () => {
        if (!(await admin.listTopics()).includes(topic)) return false;
        const meta = await admin.fetchTopicMetadata({ topics: [topic] });
        const partitions = meta.topics[0]?.partitions ?? [];
        return partitions.length > 0 && partitions.every((p) => p.leader >= 0);
      },
      { timeoutMs, intervalMs: 250, message: `topic ${topic} was not created` },
    );
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Waits for `topic` to exist, then consumes it from the beginning with a fresh
 * consumer group until `done(messages)` is true, and returns everything
 * consumed so far. Rejects after `timeoutMs` with what did arrive.
 */
export async function consumeUntil(
  brokers: string[],
  topic: string,
  done: (messages: ConsumedMessage[]) => boolean,
  { timeoutMs = 30_000 }: { timeoutMs?: number } = {},
): Promise<ConsumedMessage[]> {
  const consumer = kafkaClient(brokers).consumer({
    groupId: uniqueName('tandem_test_group'),
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxWaitTimeInMs: 200,
  });
  const messages: ConsumedMessage[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    await waitForTopic(brokers, topic, timeoutMs);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `consumed ${messages.length} message(s) from ${topic} in ${timeoutMs} ms, not what was expected:\n` +
                messages.map((m) => `  ${m.partition}@${m.offset} key=${m.key} value=${m.value?.slice(0, 300)}`).join('\n'),
            ),
          ),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ topic: t, partition, message }) => {
            messages.push({
              topic: t,
              partition,
              offset: message.offset,
              key: message.key ? message.key.toString('utf8') : null,
              value: message.value ? message.value.toString('utf8') : null,
              headers: Object.fromEntries(
                Object.entries(message.headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('utf8') : String(v)]),
              ),
            });
            if (done(messages)) resolve();
          },
        })
        .catch(reject);
    });
    return messages;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
  }
}

const capturedDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'captured');

/**
 * Writes a consumed Debezium message to test/kafka/captured/<file> (key and
 * value parsed) — only when TANDEM_CAPTURE_FIXTURES=1, so that ordinary test
 * runs leave the committed fixtures alone.
 */
export function saveCaptured(file: string, message: ConsumedMessage, note: string): void {
  if (process.env.TANDEM_CAPTURE_FIXTURES !== '1') return;
  mkdirSync(capturedDir, { recursive: true });
  const parse = (text: string | null) => (text === null ? null : JSON.parse(text));
  const body = {
    note,
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: parse(message.key),
    value: parse(message.value),
  };
  writeFileSync(path.join(capturedDir, file), `${JSON.stringify(body, null, 2)}\n`);
}
