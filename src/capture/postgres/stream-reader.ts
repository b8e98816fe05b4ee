/**
 * The streaming half of the source: CopyData in → decoded transactions →
 * batches in the queue; standby status updates out.
 *
 * Back-pressure: when the consumer is slow and `pauseAtEvents` events are
 * buffered, the socket is paused. While paused we read nothing, keepalives
 * included, so a keepalive asking for a reply goes unanswered; but the status
 * timer keeps writing status updates, and the walsender reads replies even
 * while it is blocked on a full socket (WalSndWriteData processes replies
 * while waiting), so wal_sender_timeout (60 s by default), which counts from
 * the last reply received, does not fire as long as statusIntervalMs is
 * well below it.
 */
import { DecodeError } from '../../errors';
import { BatchAssembler, type AckTracker, type BatchQueue } from '../shared';
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
  maxBatchDelayMs: number;
  statusIntervalMs: number;
  pauseAtEvents: number;
  onError: (error: unknown) => void;
}

export class StreamReader {
  private readonly assembler: BatchAssembler;
  /** Highest walEnd from keepalives (the walsender's sentPtr: everything before it has been decoded and sent). */
  private serverWalEnd = 0n;
  private statusTimer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private paused = false;
  private failed = false;

  constructor(private readonly o: StreamReaderOptions) {
    this.assembler = new BatchAssembler(o.system, o.maxBatchEvents, (pending) => o.queue.push(pending));
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
      for (const item of this.o.decoder.decode(parsePgoutput(message.payload))) this.handle(item);
      this.applyBackPressure();
    } catch (error) {
      this.failed = true;
      this.o.onError(error instanceof DecodeError ? error : new DecodeError(`replication stream: ${(error as Error).message}`, { system: this.o.system }, { cause: error }));
    }
  }

  private handle(item: Decoded): void {
    if (item.kind === 'event') this.assembler.add(item.event);
    else if (item.kind === 'commit') {
      if (this.assembler.commit(item.commitTimeMs, item.commitLsn + 1n)) this.scheduleFlush();
    } else {
      this.assembler.flush();
      const batch = { system: this.o.system, events: [], position: positionOf(item.lsn, 0), sourceTimeMs: Date.now() };
      this.o.queue.push({ batch, flushLsn: item.lsn + 1n });
    }
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.assembler.flush();
      this.applyBackPressure();
    }, this.o.maxBatchDelayMs);
  }

  /**
   * Only what the consumer can drain counts: the assembler's open transaction
   * needs more input (its Commit) to drain, so pausing on it would deadlock.
   * The assembler holds at most about maxBatchEvents events by itself.
   */
  private buffered(): number {
    return this.o.queue.bufferedEvents;
  }

  private applyBackPressure(): void {
    if (!this.paused && this.buffered() >= this.o.pauseAtEvents) {
      this.paused = true;
      this.o.connection.pause();
    }
  }

  /** Called when the consumer took a batch. Resumes at half the pause mark (hysteresis). */
  maybeResume(): void {
    if (this.paused && this.buffered() < this.o.pauseAtEvents / 2) {
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
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.statusTimer = this.flushTimer = null;
  }
}
