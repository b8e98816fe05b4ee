/**
 * Groups change events into batches of whole transactions (several small
 * ones may share a batch, up to `maxBatchEvents`); a transaction larger than
 * that is cut into partial batches positioned at their last event. A batch's
 * position is its last event's: a restart from it re-reads that transaction
 * and skips what was delivered (see position.ts), so partial batches are safe
 * to acknowledge.
 */
import type { ChangeEvent, Position } from '../change-event';
import type { ChangeBatch } from '../source';

export class BatchAssembler {
  private events: ChangeEvent[] = [];
  /** events[0..completeCount) belong to committed transactions. */
  private completeCount = 0;
  private completed: { position: Position; sourceTimeMs: number } | null = null;

  constructor(
    private readonly system: string,
    private readonly maxBatchEvents: number,
    private readonly emit: (batch: ChangeBatch) => void,
  ) {}

  get hasComplete(): boolean {
    return this.completeCount > 0;
  }

  add(event: ChangeEvent): void {
    this.events.push(event);
    if (this.events.length < this.maxBatchEvents) return;
    if (this.completeCount > 0) this.flush();
    else this.cutOpenTransaction();
  }

  /** The open transaction committed; false when it had no events of ours. */
  commit(commitTimeMs: number): boolean {
    const last = this.events[this.events.length - 1];
    if (this.events.length === this.completeCount || !last) return false;
    this.completeCount = this.events.length;
    this.completed = { position: last.source.position, sourceTimeMs: commitTimeMs };
    if (this.events.length >= this.maxBatchEvents) this.flush();
    return true;
  }

  flush(): void {
    if (this.completeCount === 0 || !this.completed) return;
    const events = this.events.slice(0, this.completeCount);
    this.events = this.events.slice(this.completeCount);
    this.completeCount = 0;
    const { position, sourceTimeMs } = this.completed;
    this.completed = null;
    this.emit({ system: this.system, events, position, sourceTimeMs });
  }

  /** The last event is held back so the batch ending the transaction is never empty. */
  private cutOpenTransaction(): void {
    if (this.events.length < 2) return;
    const events = this.events.slice(0, -1);
    this.events = this.events.slice(-1);
    const last = events[events.length - 1]!;
    this.emit({ system: this.system, events, position: last.source.position, sourceTimeMs: last.source.commitTimeMs });
  }
}
