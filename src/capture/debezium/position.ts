/**
 * Positions of Debezium events, encoded as fixed-width upper-case hex fields
 * joined by `:` so that plain string order is stream order within one source
 * (one connector). The encodings:
 *
 * - PostgreSQL: `<last commit LSN, 16 hex>:<event LSN, 16 hex>`. Debezium's
 *   `source.sequence` is `["<last commit LSN>","<event LSN>"]`; the last
 *   commit LSN grows from one transaction to the next while a transaction's
 *   own event LSNs may interleave with other transactions', so it leads.
 *   Without `sequence` (Debezium < 1.4 and snapshots, which send `null`
 *   there) it is 0, so snapshot rows sort before the stream. An LSN outside
 *   0..2^64-1 (SeaTunnel snapshot rows carry Long.MIN_VALUE) is taken as 0.
 * - MySQL/MariaDB: `<binlog file number, 8 hex>:<pos, 16 hex>:<row, 8 hex>`
 *   from `file` (`mysql-bin.000003` → 3), `pos` and `row` (the row within a
 *   multi-row event). When `file` is empty and `gtid` is set:
 *   `gtid:<server uuid or domain-server>:<transaction number, 16 hex>:<row, 8 hex>`,
 *   ordered only within one GTID source server.
 * - SQL Server: `<commit_lsn, 20 hex>:<change_lsn, 20 hex>:<event_serial_no, 8 hex>`,
 *   the LSNs' `:` removed (`00000027:00000db0:0007` → `0000002700000DB00007`);
 *   a null change_lsn or serial number is zeros.
 * - Kafka (carried beside the event, for offset commits):
 *   `<topic>/<partition, 8 hex>/<offset, 16 hex>`, ordered within a partition.
 */
import type { Position } from '../change-event';
import { ValueError } from './values';

const MAX_U64 = (1n << 64n) - 1n;

/** A non-negative integer (a number only when safe) as upper-case hex of at least `width` digits. */
export function hex(n: bigint | number, width: number): string {
  return n.toString(16).toUpperCase().padStart(width, '0');
}

/** Digits (optionally signed) → a number when at most 15 digits (always exact), else a bigint. */
function integerOf(digits: string): number | bigint {
  return digits.length <= 15 ? Number(digits) : BigInt(digits);
}

function unsigned(n: bigint, max: bigint, what: string): bigint {
  if (n < 0n || n > max) throw new ValueError(`${what} out of range: ${n}`);
  return n;
}

const PG_SEQUENCE = /^\[\s*(null|"(-?\d+)")\s*,\s*(null|"(-?\d+)")\s*\]$/;

/** `source.sequence` → its two LSNs (either may be null; numbers when short, else bigints); null when absent or malformed. */
export function parsePgSequence(sequence: string | null | undefined): [number | bigint | null, number | bigint | null] | null {
  if (typeof sequence !== 'string') return null;
  const m = PG_SEQUENCE.exec(sequence);
  if (!m) return null;
  return [m[2] === undefined ? null : integerOf(m[2]), m[4] === undefined ? null : integerOf(m[4])];
}

function lsnOrZero(n: bigint | number | null): bigint | number {
  // -0 as well: it prints as 0.
  return n === null || n < 0 || n > MAX_U64 ? 0 : n;
}

export function postgresPosition(lsn: bigint | number | null, sequence: string | null | undefined): Position {
  const seq = parsePgSequence(sequence);
  return `${hex(lsnOrZero(seq?.[0] ?? null), 16)}:${hex(lsnOrZero(lsn ?? seq?.[1] ?? null), 16)}`;
}

export function mysqlPosition(file: string | null, pos: bigint, row: bigint, gtid: string | null): Position {
  const rowHex = hex(unsigned(row, 0xffffffffn, 'row'), 8);
  if (!file && gtid) {
    const m = /^(.*)[:-](\d+)$/.exec(gtid);
    if (!m) throw new ValueError(`unrecognised gtid: ${gtid}`);
    return `gtid:${m[1]}:${hex(unsigned(BigInt(m[2] ?? '0'), MAX_U64, 'gtid'), 16)}:${rowHex}`;
  }
  let fileNumber = 0n;
  if (file) {
    const m = /\.(\d+)$/.exec(file);
    if (!m) throw new ValueError(`binlog file name without a sequence number: ${file}`);
    fileNumber = unsigned(BigInt(m[1] ?? '0'), 0xffffffffn, 'binlog file number');
  }
  return `${hex(fileNumber, 8)}:${hex(unsigned(pos, MAX_U64, 'pos'), 16)}:${rowHex}`;
}

/** `00000027:00000db0:0007` (or bare hex) → 20 upper-case hex digits; null → zeros. */
export function sqlServerLsn(lsn: string | null): string {
  if (lsn === null) return '0'.repeat(20);
  const digits = lsn.replace(/:/g, '');
  if (!/^[0-9A-Fa-f]{1,20}$/.test(digits)) throw new ValueError(`not a SQL Server LSN: ${lsn}`);
  return digits.toUpperCase().padStart(20, '0');
}

export function sqlServerPosition(commitLsn: string | null, changeLsn: string | null, serial: bigint | null): Position {
  return `${sqlServerLsn(commitLsn)}:${sqlServerLsn(changeLsn)}:${hex(unsigned(serial ?? 0n, 0xffffffffn, 'event_serial_no'), 8)}`;
}

const DIGITS = /^\d+$/;

export function kafkaPosition(topic: string, partition: number, offset: string): Position {
  if (!DIGITS.test(offset)) throw new ValueError(`Kafka offset is not a whole number: ${offset}`);
  const at = offset.length <= 15 ? Number(offset) : unsigned(BigInt(offset), MAX_U64, 'offset');
  // A whole-number partition prints the same as a number; anything else throws in BigInt, as it did.
  return `${topic}/${hex(Number.isSafeInteger(partition) ? partition : BigInt(partition), 8)}/${hex(at, 16)}`;
}
