import { createHash } from 'node:crypto';

/** tandem's namespace for name-based UUIDs (itself a random v4 UUID, fixed forever). */
const NAMESPACE = Buffer.from('6f1c2a4e9b7d4c35a0e2f18d3b5c7a91', 'hex');

/**
 * RFC 4122 version-5 UUID of (system, entity, canonical key). Deterministic,
 * so a retried insert computes the key of the row its first attempt made and
 * finds it instead of inserting a second one.
 */
export function deterministicUuid(system: string, entity: string, key: string): string {
  // NUL separators: no combination of parts can spell another's name.
  const name = Buffer.from(`${system}\u0000${entity}\u0000${key}`, 'utf8');
  const bytes = createHash('sha1').update(NAMESPACE).update(name).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
