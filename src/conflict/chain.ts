import { createHash } from 'node:crypto';
import type { ConflictEntry } from './decision';
import { canonicalJson } from './values';

/** A conflict-log row as stored: the entry plus what the chain needs. */
export interface ChainedConflict {
  loggedAt: string;
  rulesVersion: string;
  entry: ConflictEntry;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = 'genesis';

/**
 * The serialisation that is hashed: every stored column but the id and the
 * hashes, in a fixed order. `undefined` becomes null, as the database stores it.
 */
export function hashedContent(loggedAt: string, rulesVersion: string, entry: ConflictEntry): string {
  // The rule version joined the log later: only rows that have one hash it, so older rows still verify.
  const ruleVersion = entry.ruleVersion === undefined ? {} : { ruleVersion: entry.ruleVersion };
  return canonicalJson({
    ...ruleVersion,
    loggedAt,
    rulesVersion,
    correlationId: entry.correlationId,
    entity: entry.entity,
    key: entry.key,
    field: entry.field,
    system: entry.system,
    table: entry.table,
    position: entry.position,
    txId: entry.txId,
    commitTimeMs: entry.commitTimeMs,
    attempted: entry.attempted ?? null,
    before: entry.before ?? null,
    current: entry.current ?? null,
    kept: entry.kept ?? null,
    rule: entry.rule,
    outcome: entry.outcome,
    corrected: entry.corrected,
    patch: entry.patch,
  });
}

/** SHA-256 over the previous row's hash and this row's canonical serialisation. */
export function chainHash(prevHash: string, content: string): string {
  return createHash('sha256').update(prevHash).update('\n').update(content).digest('hex');
}

/** Links entries onto the chain after `headHash`, in order. */
export function chainEntries(headHash: string, entries: ConflictEntry[], rulesVersion: string, now: Date): ChainedConflict[] {
  const loggedAt = now.toISOString();
  let prevHash = headHash;
  return entries.map((entry) => {
    const hash = chainHash(prevHash, hashedContent(loggedAt, rulesVersion, entry));
    const chained = { loggedAt, rulesVersion, entry, prevHash, hash };
    prevHash = hash;
    return chained;
  });
}
