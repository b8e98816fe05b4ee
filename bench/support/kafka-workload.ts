/** What the Kafka benchmarks share: the development servers' env file, and the rows their events carry. */
import { existsSync, readFileSync } from 'node:fs';
import { customerEvent, kafka, type CustomerRow } from '../../test/kafka/pipeline-support';

/** Reads .tandem/services/env when the TANDEM_TEST_* variables are not set. */
export function loadServicesEnv(): void {
  const file = '.tandem/services/env';
  if (process.env.TANDEM_TEST_KAFKA_BROKERS || !existsSync(file)) return;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^export (\w+)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1]!] = m[2]!.replace(/^['"]|['"]$/g, '');
  }
}

/** The row of the `seq`-th event over `rows` distinct rows (each inserted, then updated). */
export function rowOf(seq: number, rows: number): CustomerRow {
  const id = (seq % rows) + 1;
  return { id, name: `c${id}-v${seq}`, balance: `${seq}.${String(seq % 10_000).padStart(4, '0')}`, active: seq % 2 === 0, updated_at: '2026-01-01T00:00:00.000001Z' };
}

/**
 * Writes `events` Debezium envelopes over `rows` rows to `topic` (each row
 * inserted, then updated), 250 a message set, 16 sets in flight. Returns
 * the milliseconds it took.
 */
export async function prefillTopic(brokers: string[], prefix: string, topic: string, events: number, rows: number): Promise<number> {
  const producer = kafka(brokers).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const started = Date.now();
  const inFlight: Promise<unknown>[] = [];
  for (let seq = 0; seq < events; seq += 250) {
    const messages = [];
    for (let s = seq; s < Math.min(events, seq + 250); s++) messages.push(customerEvent(prefix, s, s < rows ? null : rowOf(s - rows, rows), rowOf(s, rows)));
    inFlight.push(producer.send({ topic, messages }));
    if (inFlight.length >= 16) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await producer.disconnect();
  return Date.now() - started;
}
