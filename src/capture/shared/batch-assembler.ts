/**
 * Groups decoded events into batches of whole transactions. Several small
 * transactions may share a batch (up to `maxBatchEvents`); a transaction
 * larger than that is cut into partial batches, each positioned at its last
 * event and carrying no slot flush LSN, because the slot may only move past a
 * transaction once all of it is durable downstream.
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
  /** events[0..completeCount) belong to committed transactions. */
  private completeCount = 0;
  private completed: Completed | null = null;

  constructor(
    private readonly system: string,
    private readonly maxBatchEvents: number,
    private readonly emit: (pending: PendingBatch) => void,
  ) {}

  get bufferedEvents(): number {
    return this.events.length;
  }

  /** Events of committed transactions wait for `flush()`. */
  get hasComplete(): boolean {
    return this.completeCount > 0;
  }

  add(event: ChangeEvent): void {
    this.events.push(event);
    if (this.events.length < this.maxBatchEvents) return;
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
    this.completed = { position: last.source.position, sourceTimeMs: commitTimeMs, flushLsn };
    if (this.events.length >= this.maxBatchEvents) this.flush();
    return true;
  }

  /** Hands on the committed transactions buffered so far as one batch. */
  flush(): void {
    if (this.completeCount === 0 || !this.completed) return;
    const events = this.events.slice(0, this.completeCount);
    this.events = this.events.slice(this.completeCount);
    this.completeCount = 0;
    const { position, sourceTimeMs, flushLsn } = this.completed;
    this.completed = null;
    this.emit({ batch: { system: this.system, events, position, sourceTimeMs }, flushLsn });
  }

  /**
   * A transaction too big for one batch. The last event is held back so that
   * the batch ending the transaction is never empty and its position differs
   * from every partial batch's: acknowledging a partial position can then never
   * be mistaken for acknowledging the whole transaction.
   */
  private cutOpenTransaction(): void {
    if (this.events.length < 2) return;
    const events = this.events.slice(0, -1);
    this.events = this.events.slice(-1);
    const last = events[events.length - 1];
    if (!last) return;
    const batch: ChangeBatch = { system: this.system, events, position: last.source.position, sourceTimeMs: last.source.commitTimeMs };
    this.emit({ batch, flushLsn: null });
  }
}
