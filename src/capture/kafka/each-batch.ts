/**
 * kafkajs' eachBatch for one topic-partition: decode, hand the chunks to the
 * pipeline, wait (heartbeating) until each is acknowledged, then commit its
 * offset + 1. An offset is committed only once its effects are durable, only
 * while the partition is still ours, and in partition order.
 */
import type kafkajs from 'kafkajs';
import { assemble, type AssembleOptions, type Chunk } from './assemble';
import type { GroupState } from './group-state';
import type { Handoff, Outcome } from './handoff';
import type { ResolvedOptions } from './options';
import { partitionKey } from './topics';

export interface EachBatchDeps {
  options: ResolvedOptions;
  assembleOptions: AssembleOptions;
  handoff: Handoff;
  group: GroupState;
}

const TICK_MS = 500;

export function eachBatchHandler(deps: EachBatchDeps): (payload: kafkajs.EachBatchPayload) => Promise<void> {
  return async (payload) => {
    const { batch } = payload;
    const key = partitionKey(batch.topic, batch.partition);
    deps.group.lag.set(key, Number(batch.offsetLag()));
    if (batch.messages.length === 0 || deps.handoff.isClosed) return;
    const chunks = assemble(batch.topic, batch.partition, batch.messages, deps.assembleOptions);
    const waiting: Array<{ chunk: Chunk; outcome: Promise<Outcome> }> = [];
    const flow = new PartitionFlow(deps, payload, key);
    try {
      for (const chunk of chunks) {
        if (!(await flow.wait(deps.handoff.room().then(() => 'acked' as const)))) break;
        waiting.push({ chunk, outcome: deps.handoff.push(chunk.batch, key) });
      }
      for (const { chunk, outcome } of waiting) {
        const settled = await flow.wait(outcome);
        if (settled !== 'acked' || !(await flow.commit(chunk.lastOffset))) break;
      }
    } finally {
      flow.resumeIfPaused();
      // Whatever was not committed here is abandoned: the partition's next fetch (ours or a new owner's) redelivers it.
      if (waiting.length > 0) deps.handoff.abandon((p) => p === key);
    }
  };
}

class PartitionFlow {
  private resume: (() => void) | null = null;
  private readonly startedAt = Date.now();
  private graceFrom: number | null = null;
  private readonly generation: number;

  constructor(private readonly deps: EachBatchDeps, private readonly payload: kafkajs.EachBatchPayload, private readonly key: string) {
    this.generation = deps.group.generation;
  }

  /**
   * Waits for `promise`, heartbeating so the session lives, pausing the
   * partition if the pipeline is slow. On a rebalance the wait is bounded by
   * the grace period; null means: give up (abandon).
   */
  async wait(promise: Promise<Outcome>): Promise<Outcome | null> {
    const { options, group, handoff } = this.deps;
    for (;;) {
      const settled = await Promise.race([promise, new Promise<null>((r) => setTimeout(() => r(null), TICK_MS))]);
      if (settled !== null) return settled;
      if (handoff.isClosed) return null;
      if (!this.resume && Date.now() - this.startedAt > options.pauseAfterMs) {
        this.resume = this.payload.pause();
        options.log('debug', 'pipeline behind: partition paused', { partition: this.key });
      }
      await this.heartbeat();
      if (this.leaving()) {
        this.graceFrom ??= Date.now();
        if (Date.now() - this.graceFrom > options.rebalanceGraceMs || !group.owns(this.key)) return null;
      }
    }
  }

  /** Commits `lastOffset + 1` if the partition is still ours; false when it is not (or the commit failed). */
  async commit(lastOffset: string): Promise<boolean> {
    const { group, options } = this.deps;
    if (!group.owns(this.key) || this.payload.isStale()) return false;
    const { topic, partition } = this.payload.batch;
    this.payload.resolveOffset(lastOffset);
    try {
      await this.payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: (BigInt(lastOffset) + 1n).toString() }] }] });
      return true;
    } catch (error) {
      // Most likely a rebalance took the partition (the broker refuses an old generation): its next owner redelivers.
      options.log('warn', 'offset commit refused; abandoning the rest of the batch', { partition: this.key, offset: lastOffset, generation: this.generation, error: (error as Error).message });
      return false;
    }
  }

  resumeIfPaused(): void {
    this.resume?.();
    this.resume = null;
  }

  private leaving(): boolean {
    return this.deps.group.rebalancing || !this.payload.isRunning() || this.payload.isStale();
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.payload.heartbeat();
    } catch (error) {
      // REBALANCE_IN_PROGRESS and friends: finish what the grace period allows, then let kafkajs rejoin.
      this.deps.group.rebalancing = true;
      this.deps.options.log('info', 'group rebalancing while a batch is in flight', { partition: this.key, error: (error as Error).message });
    }
  }
}
