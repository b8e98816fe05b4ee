/**
 * The Kafka source alone (kafkajs + Debezium decoding + hand-off + commit),
 * as bench/kafka-to-pg.ts's "sourceOnly" phase runs it, over one pre-filled
 * topic, several rounds (each with a fresh consumer group). With --baseline
 * DIR another checkout's createKafkaSource runs in alternate rounds in the
 * same process, so both see the same load on a shared machine.
 *
 *   npx tsx bench/kafka-source.ts [--events 30000] [--partitions 4] [--rounds 3] [--baseline DIR] [--profile FILE]
 *
 * --profile FILE: a V8 CPU profile of the rounds alone (not the pre-fill),
 * for chrome://inspect or any .cpuprofile reader.
 *
 * Prints events/s and node CPU µs per event (process.cpuUsage over the
 * round: kafkajs' fetch and decode of record batches included), beside a
 * bare kafkajs consumer of the same topic (the floor).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createKafkaSource } from '../src/capture';
import { createTopic, deleteGroups, deleteTopics, kafka } from '../test/kafka/pipeline-support';
import { uniqueName } from '../test/support/names';
import { loadServicesEnv, prefillTopic } from './support/kafka-workload';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '30000' }, partitions: { type: 'string', default: '4' }, rounds: { type: 'string', default: '3' },
    rows: { type: 'string', default: '10000' }, baseline: { type: 'string' }, profile: { type: 'string' },
  },
});
const N = Number(args.events);
const PARTITIONS = Number(args.partitions);
const ROWS = Math.min(Number(args.rows), N);
type Create = typeof createKafkaSource;




async function sourceOnly(create: Create, brokers: string[], topic: string, groupId: string): Promise<{ ms: number; cpuMicrosPerEvent: number }> {
  const source = create({
    system: 'src', connection: { brokers, clientId: 'bench', ssl: false }, groupId, topics: [topic], tables: ['public.customer'],
    partitionsConsumedConcurrently: PARTITIONS,
  });
  const cpu = process.cpuUsage();
  const started = Date.now();
  let events = 0;
  for await (const batch of source.batches()) {
    events += batch.events.length;
    await source.acknowledge(batch.position);
    if (events >= N) break;
  }
  const ms = Date.now() - started;
  const used = process.cpuUsage(cpu);
  await source.stop();
  return { ms, cpuMicrosPerEvent: (used.user + used.system) / N };
}

/** The floor: a bare kafkajs consumer (the source's fetch sizes) reading the same messages, doing nothing with them. */
async function rawConsume(brokers: string[], topic: string, groupId: string): Promise<{ ms: number; cpuMicrosPerEvent: number }> {
  const consumer = kafka(brokers).consumer({ groupId, maxBytesPerPartition: 16 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const cpu = process.cpuUsage();
  const started = Date.now();
  let count = 0;
  await new Promise<void>((done) => {
    void consumer.run({
      partitionsConsumedConcurrently: PARTITIONS,
      eachBatch: async ({ batch }) => {
        count += batch.messages.length;
        if (count >= N) done();
      },
    });
  });
  const ms = Date.now() - started;
  const used = process.cpuUsage(cpu);
  await consumer.disconnect();
  return { ms, cpuMicrosPerEvent: (used.user + used.system) / N };
}

async function main(): Promise<void> {
  loadServicesEnv();
  const brokers = (process.env.TANDEM_TEST_KAFKA_BROKERS ?? '').split(',');
  if (!brokers[0]) throw new Error('TANDEM_TEST_KAFKA_BROKERS is not set');
  const prefix = uniqueName('bench_src');
  const topic = `${prefix}.public.customer`;
  const groups: string[] = [];
  type Round = (group: string) => Promise<{ ms: number; cpuMicrosPerEvent: number }>;
  const runs: Array<{ label: string; round: Round; results: Array<{ rate: number; cpu: number }> }> = [
    { label: 'raw kafkajs', round: (group) => rawConsume(brokers, topic, group), results: [] },
    { label: 'this tree', round: (group) => sourceOnly(createKafkaSource, brokers, topic, group), results: [] },
  ];
  if (args.baseline) {
    const url = pathToFileURL(resolve(args.baseline, 'src/capture/index.ts')).href;
    const create = ((await import(url)) as { createKafkaSource: Create }).createKafkaSource;
    runs.splice(1, 0, { label: `baseline ${args.baseline}`, round: (group) => sourceOnly(create, brokers, topic, group), results: [] });
  }
  try {
    await createTopic(brokers, topic, PARTITIONS);
    await prefillTopic(brokers, prefix, topic, N, ROWS);
    console.log(`pre-filled ${topic}: ${N} events, ${PARTITIONS} partitions`);
    const session = args.profile ? new Session() : null;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    for (let r = 0; r < Number(args.rounds); r++) {
      for (const run of runs) {
        const group = uniqueName('bench_src_g');
        groups.push(group);
        const { ms, cpuMicrosPerEvent } = await run.round(group);
        const rate = Math.round(N / (ms / 1000));
        run.results.push({ rate, cpu: cpuMicrosPerEvent });
        console.log(`round ${r} ${run.label}: ${N} events in ${(ms / 1000).toFixed(2)} s = ${rate} events/s, ${cpuMicrosPerEvent.toFixed(1)} µs node CPU per event (load ${(await import('node:os')).loadavg()[0]!.toFixed(1)})`);
      }
    }
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(args.profile!, JSON.stringify(profile));
      session.disconnect();
    }
    for (const run of runs) {
      const best = run.results.reduce((a, b) => (b.rate > a.rate ? b : a));
      const cpu = Math.min(...run.results.map((x) => x.cpu));
      console.log(`best ${run.label}: ${best.rate} events/s; least CPU ${cpu.toFixed(1)} µs per event`);
    }
  } finally {
    await deleteTopics(brokers, [topic]).catch(() => {});
    await deleteGroups(brokers, groups).catch(() => {});
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
