/**
 * The Kafka source's decode cost alone, without a broker: N Debezium
 * PostgreSQL envelopes (the bench's, from test/kafka/captured) as the
 * Buffers kafkajs hands over, cut into kafkajs-sized batches and assembled
 * into ChangeBatches as eachBatch does. Prints µs per event (node CPU).
 *
 *   npx tsx bench/kafka-decode.ts [--events 30000] [--rounds 5]
 */
import { parseArgs } from 'node:util';
import type kafkajs from 'kafkajs';
import { assemble } from '../src/capture/kafka/assemble';
import { customerEvent, type CustomerRow } from '../test/kafka/pipeline-support';

const { values: args } = parseArgs({ options: { events: { type: 'string', default: '30000' }, rounds: { type: 'string', default: '5' }, rows: { type: 'string', default: '10000' } } });
const N = Number(args.events);
const ROWS = Number(args.rows);

function rowOf(seq: number): CustomerRow {
  const id = (seq % ROWS) + 1;
  return { id, name: `c${id}-v${seq}`, balance: `${seq}.${String(seq % 10_000).padStart(4, '0')}`, active: seq % 2 === 0, updated_at: '2026-01-01T00:00:00.000001Z' };
}

const messages: kafkajs.KafkaMessage[] = [];
for (let s = 0; s < N; s++) {
  const m = customerEvent('bench_decode', s, s < ROWS ? null : rowOf(s - ROWS), rowOf(s));
  messages.push({ key: Buffer.from(m.key), value: Buffer.from(m.value), offset: String(s), timestamp: String(Date.now()), attributes: 0, headers: {}, size: 0 } as unknown as kafkajs.KafkaMessage);
}
const options = { system: 'src', maxBatchEvents: 2000, heartbeatTopicPrefix: '__debezium-heartbeat', tables: new Set(['public.customer']), databaseIsSchema: false };
const bytes = messages.reduce((a, m) => a + (m.value?.length ?? 0) + (m.key?.length ?? 0), 0);
console.log(`${N} messages, ${(bytes / N).toFixed(0)} bytes each`);
for (let r = 0; r < Number(args.rounds); r++) {
  const started = process.cpuUsage();
  const t0 = performance.now();
  let events = 0;
  for (let i = 0; i < N; i += 500) {
    for (const chunk of assemble('bench_decode.public.customer', 0, messages.slice(i, i + 500), options)) events += chunk.batch.events.length;
  }
  const cpu = process.cpuUsage(started);
  const ms = performance.now() - t0;
  console.log(`round ${r}: ${events} events in ${ms.toFixed(0)} ms = ${Math.round(events / (ms / 1000))} events/s, ${((cpu.user + cpu.system) / events).toFixed(1)} µs CPU per event`);
}
