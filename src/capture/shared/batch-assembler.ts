/**
 * Groups decoded events into batches of whole transactions. Several small
 * transactions may share a batch (up to `maxBatchEvents` events or
 * `maxBatchBytes` estimated bytes); a transaction larger than that is cut
 * into partial batches, each positioned at its last event and carrying no
 * slot flush LSN, because the slot may only move past a transaction once all
 * of it is durable downstream.
 *
 * When committed transactions are handed on is the source's choice
 * (`flush()`): natural batching hands them on as soon as the consumer asks,
 * so they accumulate here only while it is busy.
 */
import type { ChangeEvent, Position } from '../change-event';
import type { ChangeBatch } from '../source';

/** A batch and the slot LSN its acknowledgement allows to confirm (null: none). */
export interface PendingBatch {
  batch: ChangeBatch;
  flushLsn: bigint | null;
}

interface Completed {
  position: Position;
  sourceTimeMs: number;
  flushLsn: bigint | null;
}

export class BatchAssembler {
  private events: ChangeEvent[] = [];
  /** Estimated bytes of each buffered event (parallel to `events`). */
  private sizes: number[] = [];
  private bytes = 0;
  /** events[0..completeCount) belong to committed transactions. */
  private completeCount = 0;
  private completeBytes = 0;
  private completed: Completed | null = null;

  constructor(
    private readonly system: string,
    private readonly maxBatchEvents: number,
    private readonly emit: (pending: PendingBatch) => void,
    private readonly maxBatchBytes: number = Number.POSITIVE_INFINITY,
  ) {}

  get bufferedEvents(): number {
    return this.events.length;
  }

  /** Estimated bytes of every buffered event, committed or not. */
  get bufferedBytes(): number {
    return this.bytes;
  }

  /** Events of committed transactions wait for `flush()`. */
  get hasComplete(): boolean {
    return this.completeCount > 0;
  }

  /** `bytes`: the event's estimated size (see estimateEventBytes). */
  add(event: ChangeEvent, bytes = 0): void {
    this.events.push(event);
    this.sizes.push(bytes);
    this.bytes += bytes;
    if (!this.full()) return;
    if (this.completeCount > 0) this.flush();
    else this.cutOpenTransaction();
  }

  /**
   * The open transaction committed. `flushLsn` is what the slot may confirm
   * once this transaction is acknowledged (sources without a slot, like the
   * MySQL binlog, pass none). Returns false when the transaction had no
   * events of ours at all (nothing to deliver).
   */
  commit(commitTimeMs: number, flushLsn: bigint | null = null): boolean {
    const last = this.events[this.events.length - 1];
    if (this.events.length === this.completeCount || !last) return false;
    this.completeCount = this.events.length;
    this.completeBytes = this.bytes;
    this.completed = { position: last.source.position, sourceTimeMs: commitTimeMs, flushLsn };
    if (this.full()) this.flush();
    return true;
  }

  /** Hands on the committed transactions buffered so far as one batch. */
  flush(): void {
    if (this.completeCount === 0 || !this.completed) return;
    const { position, sourceTimeMs, flushLsn } = this.completed;
    const bytes = this.completeBytes;
    const events = this.take(this.completeCount, bytes);
    this.completeCount = 0;
    this.completeBytes = 0;
    this.completed = null;
    this.emit({ batch: { system: this.system, events, position, sourceTimeMs, bytes }, flushLsn });
  }

  private full(): boolean {
    return this.events.length >= this.maxBatchEvents || this.bytes >= this.maxBatchBytes;
  }

  /** Removes the first `count` events (of `bytes` bytes) and returns them. */
  private take(count: number, bytes: number): ChangeEvent[] {
    const events = this.events.slice(0, count);
    this.events = this.events.slice(count);
    this.sizes = this.sizes.slice(count);
    this.bytes -= bytes;
    return events;
  }

  /**
   * A transaction too big for one batch. The last event is held back so that
   * the batch ending the transaction is never empty and its position differs
   * from every partial batch's: acknowledging a partial position can then never
   * be mistaken for acknowledging the whole transaction.
   */
  private cutOpenTransaction(): void {
    if (this.events.length < 2) return;
    const count = this.events.length - 1;
    const bytes = this.bytes - (this.sizes[count] ?? 0);
    const events = this.take(count, bytes);
    const last = events[events.length - 1];
    if (!last) return;
    const batch: ChangeBatch = { system: this.system, events, position: last.source.position, sourceTimeMs: last.source.commitTimeMs, bytes };
    this.emit({ batch, flushLsn: null });
  }
}
