/**
 * A tandem system captured by Debezium and read from Kafka: a kafkajs
 * consumer in a group shared by every tandem instance of the deployment.
 * Batches are pulled by the pipeline; offsets are committed only after
 * `acknowledge()` says their effects are durable (see each-batch.ts).
 */
import kafkajs from 'kafkajs';
import type { Position } from '../change-event';
import type { ChangeBatch, ChangeSource, SourceStats } from '../source';
import { CaptureError } from '../../errors';
import { eachBatchHandler } from './each-batch';
import { GroupState } from './group-state';
import { Handoff } from './handoff';
import { kafkaClientConfig, resolveOptions, type KafkaSourceOptions, type ResolvedOptions } from './options';
import { topicsToRead } from './topics';

export function createKafkaSource(options: KafkaSourceOptions): ChangeSource {
  const o = resolveOptions(options);
  if (!o.topics?.length && !o.topicPattern) throw new CaptureError(`system ${o.system}: no Kafka topics to read (topics or topicPattern)`, { system: o.system });
  return new KafkaSource(o);
}

class KafkaSource implements ChangeSource {
  readonly system: string;
  private readonly kafka: kafkajs.Kafka;
  private readonly consumer: kafkajs.Consumer;
  private readonly admin: kafkajs.Admin;
  private readonly handoff: Handoff;
  private readonly group = new GroupState();
  private subscribed: string[] = [];
  private watcher: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly o: ResolvedOptions) {
    this.system = o.system;
    this.kafka = new kafkajs.Kafka(kafkaClientConfig(o.connection));
    this.admin = this.kafka.admin();
    this.handoff = new Handoff(o.maxQueuedBatches);
    this.consumer = this.kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: Math.min(3_000, Math.floor(o.sessionTimeoutMs / 10)),
      maxBytesPerPartition: o.maxBytesPerPartition,
      maxBytes: o.maxBytesPerPartition * 4,
      allowAutoTopicCreation: false,
      // One restart path: a crashed consumer ends this source, and the pipeline's source loop makes a new one.
      retry: { retries: 5, restartOnFailure: async () => false },
    });
    this.listen();
  }

  async *batches(): AsyncGenerator<ChangeBatch> {
    await this.start();
    yield* this.handoff.iterate();
  }

  async acknowledge(position: Position): Promise<void> {
    this.handoff.acknowledge(position);
  }

  async stats(): Promise<SourceStats> {
    // Kafka retains by topic policy, not for tandem: no retained bytes; lag is in messages.
    return { retainedBytes: null, lagMessages: this.group.lagMessages() };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.watcher) clearInterval(this.watcher);
    this.handoff.close();
    await this.consumer.disconnect().catch(() => {});
    await this.admin.disconnect().catch(() => {});
  }

  private listen(): void {
    const { events } = this.consumer;
    this.consumer.on(events.GROUP_JOIN, ({ payload }) => {
      this.group.joined(payload.memberAssignment);
      // In-flight work of partitions that moved away is dropped: never committed, redelivered to the new owner.
      const dropped = this.handoff.abandon((p) => !this.group.owns(p));
      this.o.log('info', 'joined consumer group', { groupId: this.o.groupId, partitions: this.group.ownedCount(), abandonedBatches: dropped });
    });
    this.consumer.on(events.REBALANCING, () => {
      this.group.rebalancing = true;
    });
    this.consumer.on(events.CRASH, ({ payload }) => {
      this.handoff.close(new CaptureError(`Kafka consumer crashed: ${payload.error.message}`, { system: this.system }, { cause: payload.error }));
    });
  }

  private async start(): Promise<void> {
    try {
      await this.admin.connect();
      this.subscribed = await this.waitForTopics();
      if (this.stopped) return;
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: this.subscribed, fromBeginning: this.o.fromBeginning });
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.o.partitionsConsumedConcurrently,
        eachBatch: eachBatchHandler({ options: this.o, assembleOptions: this.assembleOptions(), handoff: this.handoff, group: this.group }),
      });
    } catch (error) {
      throw new CaptureError(`cannot start the Kafka consumer: ${(error as Error).message}`, { system: this.system }, { cause: error });
    }
    this.o.log('info', 'reading Kafka topics', { topics: this.subscribed, groupId: this.o.groupId });
    this.watcher = setInterval(() => void this.checkTopics(), this.o.topicRefreshMs);
    this.watcher.unref();
  }

  private assembleOptions() {
    return {
      system: this.system,
      maxBatchEvents: this.o.maxBatchEvents,
      heartbeatTopicPrefix: this.o.heartbeatTopicPrefix,
      unavailableValuePlaceholder: this.o.unavailableValuePlaceholder,
      tables: this.o.tables ? new Set(this.o.tables) : undefined,
      databaseIsSchema: this.o.databaseIsSchema,
    };
  }

  private async currentTopics(): Promise<string[]> {
    return topicsToRead(await this.admin.listTopics(), this.o);
  }

  /** A connector creates a table's topic with its first record: until one exists there is nothing to read. */
  private async waitForTopics(): Promise<string[]> {
    for (let logged = false; !this.stopped; logged = true) {
      const topics = await this.currentTopics();
      if (topics.length > 0) return topics;
      if (!logged) this.o.log('warn', 'none of the system\'s Kafka topics exists yet; waiting', { topics: this.o.topics, topicPattern: this.o.topicPattern });
      await new Promise((r) => setTimeout(r, Math.min(this.o.topicRefreshMs, 1_000)));
    }
    return [];
  }

  /** kafkajs cannot change a running subscription: when the topics change, end with a retriable error to re-subscribe. */
  private async checkTopics(): Promise<void> {
    try {
      const now = await this.currentTopics();
      if (now.join('\n') === this.subscribed.join('\n')) return;
      this.o.log('info', 'subscribed Kafka topics changed; re-subscribing', { before: this.subscribed, after: now });
      this.handoff.close(new CaptureError(`Kafka topics of ${this.system} changed`, { system: this.system }));
    } catch (error) {
      this.o.log('warn', 'cannot list Kafka topics', { error: (error as Error).message });
    }
  }
}
