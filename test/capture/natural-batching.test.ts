/**
 * Natural batching and the byte bound of the PostgreSQL stream (issue 10):
 * the StreamReader fed CopyData frames as the walsender sends them, with the
 * real decoder, assembler, queue and ack tracker; the socket is a stand-in
 * that records pause/resume (the real one is in postgres-source.pg.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { ChangeDecoder } from '../../src/capture/postgres/change-decoder';
import { lsnOfPosition } from '../../src/capture/postgres/lsn';
import type { ReplicationConnection } from '../../src/capture/postgres/replication-connection';
import { StreamReader } from '../../src/capture/postgres/stream-reader';
import { AckTracker, BatchQueue, captureLimits, estimateEventBytes, type CaptureLimits, type PendingBatch } from '../../src/capture/shared';
import type { ChangeBatch } from '../../src/capture';
import { encode } from './pgoutput-encoder';

const COMMIT_MICROS = 764_000_000_000_000n;

class Socket {
  paused = false;
  pauses = 0;
  pause(): void {
    this.paused = true;
    this.pauses++;
  }
  resume(): void {
    this.paused = false;
  }
  send(): void {}
}

function xlog(payload: Buffer): Buffer {
  const header = Buffer.alloc(25);
  header.write('w', 0, 'latin1');
  return Buffer.concat([header, payload]);
}

function harness(options: { maxBatchEvents?: number; limits?: CaptureLimits } = {}) {
  const socket = new Socket();
  let reader: StreamReader | null = null;
  const limits = options.limits ?? captureLimits(64 * 1024 * 1024);
  const queue = new BatchQueue({ capacityBytes: limits.pauseAtBytes, onTaken: () => reader?.maybeResume() });
  const decoder = new ChangeDecoder({ system: 'erp', database: 'db', tables: new Set(['public.t']), primaryKeys: new Map(), now: () => 1 });
  reader = new StreamReader({
    system: 'erp', connection: socket as unknown as ReplicationConnection, decoder, queue, acks: new AckTracker(),
    maxBatchEvents: options.maxBatchEvents ?? 1000, limits, statusIntervalMs: 60_000, onError: (error) => queue.fail(error),
  });
  reader.onCopyData(xlog(encode.relation(1, 'public', 't', 'd', [{ name: 'id', type: 23, key: true }, { name: 'doc', type: 25 }])));
  let lsn = 0x1000n;
  /** One transaction of `rows` inserts, as the walsender sends it; returns its commit LSN. */
  const transaction = (rows: number, doc = 'x'): bigint => {
    lsn += 0x100n;
    reader!.onCopyData(xlog(encode.begin(lsn, COMMIT_MICROS, Number(lsn))));
    for (let i = 0; i < rows; i++) reader!.onCopyData(xlog(encode.insert(1, [String(i), doc])));
    reader!.onCopyData(xlog(encode.commit(lsn, lsn + 0x10n, COMMIT_MICROS)));
    return lsn;
  };
  return { socket, queue, limits, transaction };
}

/** The batch `next()` gives without any timer running: 'pending' when it would have to wait. */
async function takeNow(queue: BatchQueue): Promise<PendingBatch | 'pending'> {
  return Promise.race([queue.next().then((p) => p!), new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
}

const txOf = (batch: ChangeBatch) => [...new Set(batch.events.map((e) => lsnOfPosition(e.source.position)))];

describe('natural batching (PostgreSQL stream)', () => {
  it('hands a committed transaction on at once while the consumer waits', async () => {
    const { queue, transaction } = harness();
    const waiting = queue.next();
    expect(queue.consumerWaiting).toBe(true);
    const commit = transaction(3);
    const pending = await Promise.race([waiting, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
    expect(pending).not.toBe('pending');
    const { batch, flushLsn } = pending as PendingBatch;
    expect(batch.events).toHaveLength(3);
    expect(flushLsn).toBe(commit + 1n);
    expect(batch.bytes).toBeGreaterThan(3 * estimateEventBytes(0));
  });

  it('collects the transactions that commit while the consumer is busy and gives them as one batch when it asks', async () => {
    const { queue, transaction } = harness();
    const commits = [transaction(2), transaction(1), transaction(4)];
    // Nothing sealed while nobody asks: the batch keeps growing.
    expect(queue.length).toBe(0);
    expect(queue.ready).toBe(1);
    const taken = await takeNow(queue);
    expect(taken).not.toBe('pending');
    const { batch, flushLsn } = taken as PendingBatch;
    expect(batch.events).toHaveLength(7);
    expect(txOf(batch)).toEqual(commits);
    expect(flushLsn).toBe(commits[2]! + 1n);
    expect(batch.position).toBe(batch.events[6]!.source.position);
    // Caught up: the next ask waits for the next commit.
    expect(await takeNow(queue)).toBe('pending');
  });

  it('still cuts batches at maxBatchEvents, keeping transactions whole and in order', async () => {
    const { queue, transaction } = harness({ maxBatchEvents: 5 });
    const commits = [transaction(2), transaction(2), transaction(2), transaction(2), transaction(1)];
    const batches: PendingBatch[] = [];
    for (let taken = await takeNow(queue); taken !== 'pending'; taken = await takeNow(queue)) batches.push(taken);
    expect(batches.map((p) => p.batch.events.length)).toEqual([4, 4, 1]);
    expect(batches.flatMap((p) => txOf(p.batch))).toEqual(commits);
    expect(batches.every((p) => p.flushLsn !== null)).toBe(true);
  });

  it('cuts batches at the byte limit too', async () => {
    const perEvent = estimateEventBytes(encode.insert(1, ['0', 'y'.repeat(1000)]).length);
    // Full once a 4th event arrives: the 3 committed before it go as one batch.
    const limits: CaptureLimits = { maxBatchBytes: Math.floor(3.5 * perEvent), pauseAtBytes: 100 * perEvent, resumeBelowBytes: 50 * perEvent };
    const { queue, transaction } = harness({ limits });
    for (let i = 0; i < 4; i++) transaction(1, 'y'.repeat(1000));
    const first = await takeNow(queue);
    const second = await takeNow(queue);
    expect(first !== 'pending' && first.batch.events.length).toBe(3);
    expect(second !== 'pending' && second.batch.events.length).toBe(1);
  });
});

describe('capture bounded by bytes', () => {
  it('pauses the stream when the queued batches reach the bound and resumes once they drop below half of it', async () => {
    const perEvent = estimateEventBytes(encode.insert(1, ['0', 'z'.repeat(500)]).length);
    // Batches of 10 events; pause at 4 batches' worth, resume below 2.
    const limits: CaptureLimits = { maxBatchBytes: 10 * perEvent, pauseAtBytes: 40 * perEvent, resumeBelowBytes: 20 * perEvent };
    const { socket, queue, transaction } = harness({ limits });
    let written = 0;
    while (!socket.paused && written < 1000) {
      transaction(10, 'z'.repeat(500));
      written++;
    }
    expect(socket.paused).toBe(true);
    expect(queue.bufferedBytes).toBeGreaterThanOrEqual(limits.pauseAtBytes);
    expect(queue.bufferedBytes).toBeLessThan(limits.pauseAtBytes + 10 * perEvent);
    // Taking batches frees room; reading resumes only below the lower mark (hysteresis).
    while (queue.bufferedBytes >= limits.resumeBelowBytes) {
      expect(socket.paused).toBe(true);
      expect(await takeNow(queue)).not.toBe('pending');
    }
    expect(socket.paused).toBe(false);
    expect(socket.pauses).toBe(1);
  });

  it('a snapshot reader waits for room by bytes, not by batches', async () => {
    const queue = new BatchQueue({ capacityBytes: 1_000 });
    const batch = (bytes: number): PendingBatch => ({ batch: { system: 's', events: [], position: String(bytes), sourceTimeMs: 0, bytes }, flushLsn: null });
    await queue.pushWhenRoom(batch(600));
    await queue.pushWhenRoom(batch(300)); // 600 < 1,000: room
    await queue.pushWhenRoom(batch(200)); // 900 < 1,000: room
    let third = false;
    const pushing = queue.pushWhenRoom(batch(700)).then(() => (third = true)); // 1,100: full
    await new Promise((resolve) => setImmediate(resolve));
    expect(third).toBe(false);
    expect((await queue.next())!.batch.bytes).toBe(600); // 500 left
    await pushing;
    expect(third).toBe(true);
    expect(queue.bufferedBytes).toBe(300 + 200 + 700);
  });

  it('splits the buffer budget between the batch being built and the queue', () => {
    expect(captureLimits(8 * 1024 * 1024)).toEqual({ maxBatchBytes: 4 * 1024 * 1024, pauseAtBytes: 4 * 1024 * 1024, resumeBelowBytes: 2 * 1024 * 1024 });
  });
});
