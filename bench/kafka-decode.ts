/**
 * The Kafka source's decode cost alone, without a broker: N Debezium
 * PostgreSQL envelopes (the bench's, from test/kafka/captured) as the
 * Buffers kafkajs hands over, cut into kafkajs-sized batches and assembled
 * into ChangeBatches as eachBatch does. Prints node CPU µs per event.
 *
 *   npx tsx bench/kafka-decode.ts [--events 30000] [--rounds 6] [--baseline DIR]
 *
 * --baseline DIR: another checkout of tandem (e.g. a worktree of main) whose
 * src/capture/kafka/assemble.ts runs in alternate rounds in the same process,
 * so both see the same load on a shared machine; the best round of each counts.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type kafkajs from 'kafkajs';
import { assemble } from '../src/capture/kafka/assemble';
import { customerEvent } from '../test/kafka/pipeline-support';
import { rowOf } from './support/kafka-workload';

const { values: args } = parseArgs({
  options: { events: { type: 'string', default: '30000' }, rounds: { type: 'string', default: '6' }, rows: { type: 'string', default: '10000' }, baseline: { type: 'string' } },
});
const N = Number(args.events);
const ROWS = Number(args.rows);
type Assemble = typeof assemble;


const messages: kafkajs.KafkaMessage[] = [];
for (let s = 0; s < N; s++) {
  const m = customerEvent('bench_decode', s, s < ROWS ? null : rowOf(s - ROWS, ROWS), rowOf(s, ROWS));
  messages.push({ key: Buffer.from(m.key), value: Buffer.from(m.value), offset: String(s), timestamp: String(Date.now()), attributes: 0, headers: {} } as unknown as kafkajs.KafkaMessage);
}
const options = { system: 'src', maxBatchEvents: 2000, heartbeatTopicPrefix: '__debezium-heartbeat', tables: new Set(['public.customer']), databaseIsSchema: false };

/** One pass over every message in batches of 500; CPU µs per event. */
function round(run: Assemble): { events: number; cpuMicros: number; ms: number } {
  const started = process.cpuUsage();
  const t0 = performance.now();
  let events = 0;
  for (let i = 0; i < N; i += 500) {
    for (const chunk of run('bench_decode.public.customer', 0, messages.slice(i, i + 500), options)) events += chunk.batch.events.length;
  }
  const cpu = process.cpuUsage(started);
  return { events, cpuMicros: (cpu.user + cpu.system) / events, ms: performance.now() - t0 };
}

async function main(): Promise<void> {
  const bytes = messages.reduce((a, m) => a + (m.value?.length ?? 0) + (m.key?.length ?? 0), 0);
  console.log(`${N} messages, ${(bytes / N).toFixed(0)} bytes each (key + value)`);
  const runs: Array<{ label: string; run: Assemble; best: number }> = [{ label: 'this tree', run: assemble, best: Infinity }];
  if (args.baseline) {
    const url = pathToFileURL(resolve(args.baseline, 'src/capture/kafka/assemble.ts')).href;
    runs.unshift({ label: `baseline ${args.baseline}`, run: ((await import(url)) as { assemble: Assemble }).assemble, best: Infinity });
  }
  for (let r = 0; r < Number(args.rounds); r++) {
    for (const entry of runs) {
      const { events, cpuMicros, ms } = round(entry.run);
      entry.best = Math.min(entry.best, cpuMicros);
      console.log(`round ${r} ${entry.label}: ${events} events in ${ms.toFixed(0)} ms = ${Math.round(events / (ms / 1000))} events/s, ${cpuMicros.toFixed(1)} µs CPU per event`);
    }
  }
  for (const entry of runs) console.log(`best ${entry.label}: ${entry.best.toFixed(1)} µs CPU per event (${Math.round(1e6 / entry.best)} events/s per core)`);
}

void main();
