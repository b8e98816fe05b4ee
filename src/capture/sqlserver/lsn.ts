/**
 * SQL Server LSNs and tandem positions. An LSN is binary(10); tandem carries
 * it as 20 upper-case hex digits, so string order is LSN order. Positions use
 * Debezium's SQL Server encoding (see ../debezium/position.ts):
 * `<commit_lsn, 20 hex>:<change_lsn, 20 hex>:<event_serial_no, 8 hex>` where
 * commit_lsn is `__$start_lsn` (the transaction's commit LSN), change_lsn is
 * `__$seqval` (the row change within it) and event_serial_no is 1 for inserts
 * and deletes, 2 for updates (an update is the second of its 3+4 pair), as
 * Debezium numbers them.
 *
 * Snapshot rows: `<L>:<00…00>:<row index>` for the initial snapshot taken at
 * max LSN L (every streamed change commits after L, so sorts above), and
 * `<C>:<FF…FF>:<row index>` for a table snapshotted after a restart from
 * checkpoint commit LSN C (above the checkpoint, below every later change).
 */
import type { Position } from '../change-event';
import { hex, sqlServerLsn, sqlServerPosition } from '../debezium/position';
import { DecodeError } from '../../errors';

export const ZERO_LSN = '0'.repeat(20);
export const MAX_CHANGE_LSN = 'F'.repeat(20);

/** binary(10) as the driver returns it (a Buffer), or hex text → 20 upper-case hex digits. */
export function lsnHex(lsn: Buffer | string | null | undefined): string {
  if (lsn === null || lsn === undefined) return ZERO_LSN;
  if (Buffer.isBuffer(lsn)) {
    if (lsn.length > 10) throw new DecodeError(`not a SQL Server LSN: ${lsn.length} bytes`);
    return lsn.toString('hex').toUpperCase().padStart(20, '0');
  }
  return sqlServerLsn(lsn.replace(/^0x/i, ''));
}

/** 20 hex digits → the binary(10) to bind as a parameter. */
export function lsnBuffer(lsn: string): Buffer {
  return Buffer.from(lsnHex(lsn), 'hex');
}

export function eventPosition(commitLsn: string, seqval: string, serial: number): Position {
  return sqlServerPosition(commitLsn, seqval, BigInt(serial));
}

export function snapshotPosition(lsn: string, index: number, late: boolean): Position {
  return `${lsnHex(lsn)}:${late ? MAX_CHANGE_LSN : ZERO_LSN}:${hex(BigInt(index), 8)}`;
}

export interface ParsedPosition {
  commitLsn: string;
  changeLsn: string;
  serial: number;
}

export function parsePosition(position: Position): ParsedPosition {
  const m = /^([0-9A-F]{20}):([0-9A-F]{20}):([0-9A-F]{8})$/.exec(position);
  if (!m) throw new DecodeError(`not a SQL Server position: ${position}`);
  return { commitLsn: m[1] as string, changeLsn: m[2] as string, serial: parseInt(m[3] as string, 16) };
}
