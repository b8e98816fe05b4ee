/**
 * Positions of the native binlog source, in the encoding the Debezium path
 * uses for MySQL (`<binlog file number, 8 hex>:<pos, 16 hex>:<row, 8 hex>`,
 * see ../debezium/position.ts), so that string order is stream order:
 *
 * - a streamed row: `pos` is where its transaction (event group) starts in
 *   the binlog file, i.e. the end of the previous group, and `row` is its
 *   index among the transaction's captured rows. Every position of a
 *   transaction therefore names a point the server can stream from, and a
 *   restart from any acknowledged position re-reads that transaction and
 *   skips its rows up to `row` (Debezium's offsets keep the same pair: the
 *   transaction's restart position and the rows to skip). Row event positions
 *   alone would not do: a dump cannot start in the middle of a transaction,
 *   where the table map events its rows need have already gone by.
 * - a snapshot row: `pos` is one below the binlog position the stream starts
 *   from (a group never starts there: an event has at least 19 bytes) and
 *   `row` has its top bit set (`8xxxxxxx`, a running count). So every
 *   snapshot row sorts before every change streamed after it, and a
 *   checkpoint inside a snapshot is recognisably one.
 */
import type { Position } from '../change-event';
import { mysqlPosition } from '../debezium/position';

export const SNAPSHOT_ROW_FLAG = 0x8000_0000;
const MAX_ROW = 0x7fff_ffff;

export interface BinlogPoint {
  /** Binlog file sequence number (`binlog.000003` → 3). */
  fileNumber: number;
  /** Byte offset in the file. */
  pos: number;
}

/** What a restart does with a checkpoint: stream from `point`, skipping rows up to `skipThrough` of the first transaction. */
export interface ResumePoint {
  point: BinlogPoint;
  /** Rows of the transaction starting at `point` with index ≤ this were delivered; -1: none. */
  skipThrough: number;
}

export function binlogFileNumber(file: string): number {
  const m = /\.(\d+)$/.exec(file);
  if (!m) throw new Error(`binlog file name without a sequence number: ${file}`);
  return Number(m[1]);
}

/** Position of row `index` of the transaction starting at `txStart`. */
export function streamPosition(txStart: BinlogPoint, index: number): Position {
  if (!Number.isInteger(index) || index < 0 || index > MAX_ROW) throw new RangeError(`row index out of range: ${index}`);
  return encode(txStart.fileNumber, txStart.pos, index);
}

/** Position of the `count`-th snapshot row read for a stream that starts at `streamStart`. */
export function snapshotPosition(streamStart: BinlogPoint, count: number): Position {
  if (!Number.isInteger(count) || count < 0 || count > MAX_ROW) throw new RangeError(`snapshot row count out of range: ${count}`);
  return encode(streamStart.fileNumber, streamStart.pos - 1, SNAPSHOT_ROW_FLAG + count);
}

function encode(fileNumber: number, pos: number, row: number): Position {
  return mysqlPosition(`binlog.${fileNumber}`, BigInt(pos), BigInt(row), null);
}

const POSITION = /^([0-9A-F]{8}):([0-9A-F]{16}):([0-9A-F]{8})$/;

export function isMysqlPosition(position: string): boolean {
  return POSITION.test(position);
}

/** A checkpoint → where to stream from. Throws on anything but this source's encoding. */
export function resumePointOf(position: Position): ResumePoint {
  const m = POSITION.exec(position);
  if (!m) throw new Error(`not a binlog position (<file, 8 hex>:<pos, 16 hex>:<row, 8 hex>): ${position}`);
  const fileNumber = parseInt(m[1]!, 16);
  const pos = Number(BigInt(`0x${m[2]}`));
  const row = parseInt(m[3]!, 16);
  if (row >= SNAPSHOT_ROW_FLAG) return { point: { fileNumber, pos: pos + 1 }, skipThrough: -1 };
  return { point: { fileNumber, pos }, skipThrough: row };
}
