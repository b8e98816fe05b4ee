/**
 * LSNs and positions. An LSN is a 64-bit WAL byte offset; we keep it as a
 * bigint because it overflows a double's exact range on long-lived clusters.
 */
import type { Position } from '../change-event';

/** `16/B374D848` → bigint. */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!match) throw new RangeError(`not an LSN: ${text}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** bigint → `16/B374D848`, the form PostgreSQL commands accept. */
export function formatLsn(lsn: bigint): string {
  const high = (lsn >> 32n).toString(16).toUpperCase();
  const low = (lsn & 0xffffffffn).toString(16).toUpperCase();
  return `${high}/${low}`;
}

/** 16 upper-case hex digits, so that string order is numeric order. */
export function lsnHex(lsn: bigint): string {
  return lsn.toString(16).toUpperCase().padStart(16, '0');
}

/** `<LSN 16 hex>:<index 8 hex>`: sorts lexicographically in stream order. */
export function positionOf(lsn: bigint, index: number): Position {
  return `${lsnHex(lsn)}:${index.toString(16).toUpperCase().padStart(8, '0')}`;
}

/** The LSN part of a position, or null when the position is not ours. */
export function lsnOfPosition(position: Position): bigint | null {
  const match = /^([0-9A-F]{16}):[0-9A-F]{8}$/.exec(position);
  return match ? BigInt(`0x${match[1]}`) : null;
}

/** PostgreSQL timestamps count microseconds from 2000-01-01 00:00 UTC. */
const PG_EPOCH_MS = 946_684_800_000;

export function pgMicrosToEpochMs(micros: bigint): number {
  return Number(micros / 1000n) + PG_EPOCH_MS;
}

export function epochMsToPgMicros(ms: number): bigint {
  return BigInt(Math.round(ms - PG_EPOCH_MS)) * 1000n;
}
