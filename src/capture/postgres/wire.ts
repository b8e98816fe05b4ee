/**
 * The streaming replication sub-protocol carried in CopyData messages:
 * XLogData ('w') and primary keepalive ('k') from the server, standby status
 * update ('r') from us.
 */
import { DecodeError } from '../../errors';
import { epochMsToPgMicros } from './lsn';

export type ServerCopyMessage =
  | { kind: 'xlog'; walStart: bigint; walEnd: bigint; payload: Buffer }
  | { kind: 'keepalive'; walEnd: bigint; replyRequested: boolean };

export function parseCopyData(chunk: Buffer): ServerCopyMessage {
  const tag = chunk[0];
  if (tag === 0x77 && chunk.length >= 25) {
    return { kind: 'xlog', walStart: chunk.readBigUInt64BE(1), walEnd: chunk.readBigUInt64BE(9), payload: chunk.subarray(25) };
  }
  if (tag === 0x6b && chunk.length >= 18) {
    return { kind: 'keepalive', walEnd: chunk.readBigUInt64BE(1), replyRequested: chunk[17] === 1 };
  }
  throw new DecodeError(`replication: unexpected CopyData message (tag ${tag}, ${chunk.length} bytes)`);
}

/**
 * Standby status update. For a logical slot only `flush` matters to the
 * server (it becomes confirmed_flush_lsn); write and apply are reported equal
 * so that pg_stat_replication lag columns mean "durable downstream".
 */
export function standbyStatus(flushLsn: bigint, nowMs: number, replyRequested = false): Buffer {
  const buf = Buffer.alloc(34);
  buf.write('r', 0, 'latin1');
  buf.writeBigUInt64BE(flushLsn, 1);
  buf.writeBigUInt64BE(flushLsn, 9);
  buf.writeBigUInt64BE(flushLsn, 17);
  buf.writeBigInt64BE(epochMsToPgMicros(nowMs), 25);
  buf.writeUInt8(replyRequested ? 1 : 0, 33);
  return buf;
}
