/**
 * Which slot LSN may be confirmed. Each yielded batch is remembered with the
 * LSN its acknowledgement allows; acknowledging a position releases every
 * batch yielded up to the one at that position.
 *
 * Why commit LSN + 1: on restart, logical decoding skips a transaction when
 * its commit record starts before the slot's confirmed_flush_lsn
 * (SnapBuildXactNeedsSkip(commit origptr < start_decoding_at)). Begin's
 * final_lsn is that commit record's start, so confirming final_lsn + 1 skips
 * exactly the acknowledged transaction and keeps every later one (their
 * commit records start after this one ends). A heartbeat message at LSN M
 * works the same way: everything committed before M was delivered before it.
 */
import type { Position } from '../change-event';
import type { PendingBatch } from './batch-assembler';

interface Yielded {
  position: Position;
  flushLsn: bigint | null;
}

export class AckTracker {
  private yielded: Yielded[] = [];
  private confirmedLsn: bigint;

  constructor(initial: bigint = 0n) {
    this.confirmedLsn = initial;
  }

  /** Never moves backwards: the slot's own confirmed_flush_lsn is the floor. */
  raiseFloor(lsn: bigint): void {
    if (lsn > this.confirmedLsn) this.confirmedLsn = lsn;
  }

  get confirmed(): bigint {
    return this.confirmedLsn;
  }

  /** Every yielded batch has been acknowledged. */
  get settled(): boolean {
    return this.yielded.length === 0;
  }

  record(pending: PendingBatch): void {
    this.yielded.push({ position: pending.batch.position, flushLsn: pending.flushLsn });
  }

  /**
   * Late snapshot batches interleave with stream batches and sort lower, so
   * positions are not monotonic in yield order: an exact match is looked for
   * first; otherwise everything yielded up to the last batch at or below the
   * position is released (a position from before a restart releases nothing).
   */
  acknowledge(position: Position): void {
    let index = findLastIndex(this.yielded, (y) => y.position === position);
    if (index < 0) index = findLastIndex(this.yielded, (y) => y.position <= position);
    if (index < 0) return;
    for (const y of this.yielded.slice(0, index + 1)) if (y.flushLsn !== null) this.raiseFloor(y.flushLsn);
    this.yielded = this.yielded.slice(index + 1);
  }
}

function findLastIndex<T>(items: T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i] as T)) return i;
  return -1;
}
