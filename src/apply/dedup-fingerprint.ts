import { createHash } from 'node:crypto';
import type { Row, Value } from '../capture';

/** 7 days: longer than any outage the outbox and the slots are sized for. */
export const DEFAULT_DEDUP_TTL_SECONDS = 7 * 24 * 3600;

/**
 * SHA-256 of the row's canonical JSON (keys sorted at every level), so the
 * same values give the same fingerprint whatever the column order. Both
 * sides must hand in the same projection of the row (the written columns).
 */
export function rowFingerprint(row: Row): string {
  return createHash('sha256').update(canonicalJson(row)).digest('hex');
}

export function canonicalJson(value: Value): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] ?? null)}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}
