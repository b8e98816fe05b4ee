/**
 * The streaming half of the source: CopyData in → decoded transactions →
 * batches in the queue; standby status updates out.
 *
 * Natural batching: a committed transaction goes on at once when the
 * consumer is waiting for one; while it is busy, transactions accumulate in
 * the assembler and the consumer takes them all when it next asks (see
 * BatchQueue). No timer holds a transaction back.
 *
 * Back-pressure: when the consumer is slow and `limits.pauseAtBytes`
 * (estimated) are queued, the socket is paused. While paused we read nothing, keepalives
 * included, so a keepalive asking for a reply goes unanswered; but the status
 * timer keeps writing status updates, and the walsender reads replies even
 * while it is blocked on a full socket (WalSndWriteData processes replies
 * while waiting), so wal_sender_timeout (60 s by default), which counts from
 * the last reply received, does not fire as long as statusIntervalMs is
 * well below it.
 */
import { DecodeError } from '../../errors';
import { BatchAssembler, estimateEventBytes, type AckTracker, type BatchQueue, type CaptureLimits } from '../shared';
import type { ChangeDecoder, Decoded } from './change-decoder';
import { positionOf } from './lsn';
import { parsePgoutput } from './pgoutput';
import type { ReplicationConnection } from './replication-connection';
import { parseCopyData, standbyStatus } from './wire';

export interface StreamReaderOptions {
  system: string;
  connection: ReplicationConnection;
  decoder: ChangeDecoder;
  queue: BatchQueue;
  acks: AckTracker;
  maxBatchEvents: number;
  /** Batch size in bytes and when to pause reading (from `pipeline.captureBufferBytes`). */
  limits: CaptureLimits;
  statusIntervalMs: number;
  onError: (error: unknown) => void;
}

export class StreamReader {
  private readonly assembler: BatchAssembler;
  /** Highest walEnd from keepalives (the walsender's sentPtr: everything before it has been decoded and sent). */
  private serverWalEnd = 0n;
  private statusTimer: NodeJS.Timeout | null = null;
  private paused = false;
  private failed = false;

  constructor(private readonly o: StreamReaderOptions) {
    this.assembler = new BatchAssembler(o.system, o.maxBatchEvents, (pending) => o.queue.push(pending), o.limits.maxBatchBytes);
    o.queue.setSupplier(this.assembler);
  }

  start(): void {
    this.statusTimer = setInterval(() => this.sendStatus(), this.o.statusIntervalMs);
    this.statusTimer.unref();
  }

  onCopyData(chunk: Buffer): void {
    if (this.failed) return;
    try {
      const message = parseCopyData(chunk);
      if (message.kind === 'keepalive') {
        if (message.walEnd > this.serverWalEnd) this.serverWalEnd = message.walEnd;
        if (message.replyRequested) this.sendStatus();
        return;
      }
      const bytes = estimateEventBytes(message.payload.length);
      for (const item of this.o.decoder.decode(parsePgoutput(message.payload))) this.handle(item, bytes);
      this.applyBackPressure();
    } catch (error) {
      this.failed = true;
      this.o.onError(error instanceof DecodeError ? error : new DecodeError(`replication stream: ${(error as Error).message}`, { system: this.o.system }, { cause: error }));
    }
  }

  private handle(item: Decoded, bytes: number): void {
    if (item.kind === 'event') this.assembler.add(item.event, bytes);
    else if (item.kind === 'commit') {
      if (this.assembler.commit(item.commitTimeMs, item.commitLsn + 1n) && this.o.queue.consumerWaiting) this.assembler.flush();
    } else {
      this.assembler.flush();
      const batch = { system: this.o.system, events: [], position: positionOf(item.lsn, 0), sourceTimeMs: Date.now() };
      this.o.queue.push({ batch, flushLsn: item.lsn + 1n });
    }
  }

  /**
   * Only what the consumer can drain counts: the assembler's open transaction
   * needs more input (its Commit) to drain, so pausing on it would deadlock.
   * The assembler holds at most about limits.maxBatchBytes by itself.
   */
  private buffered(): number {
    return this.o.queue.bufferedBytes;
  }

  private applyBackPressure(): void {
    if (!this.paused && this.buffered() >= this.o.limits.pauseAtBytes) {
      this.paused = true;
      this.o.connection.pause();
    }
  }

  /** Called when the consumer took a batch. Resumes below half the pause mark (hysteresis). */
  maybeResume(): void {
    if (this.paused && this.buffered() < this.o.limits.resumeBelowBytes) {
      this.paused = false;
      this.o.connection.resume();
    }
  }

  /**
   * What the slot may confirm: what was acknowledged; or, when everything
   * yielded is acknowledged and nothing is buffered or half-received, the
   * walsender's sentPtr from the last keepalive (nothing before it is
   * still owed to us), so a slot whose changes are all filtered still moves.
   */
  private flushLsn(): bigint {
    const idle = this.o.acks.settled && this.o.queue.length === 0 && this.assembler.bufferedEvents === 0 && !this.o.decoder.inTransaction;
    if (idle) this.o.acks.raiseFloor(this.serverWalEnd);
    return this.o.acks.confirmed;
  }

  sendStatus(): void {
    if (this.failed) return;
    this.o.connection.send(standbyStatus(this.flushLsn(), Date.now()));
  }

  stop(): void {
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = null;
    this.o.queue.setSupplier(null);
  }
}
