import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { keyIdOf } from './keys';

/** What a checkpoint vouches for: conflict row `seq` (its id) has `hash`, as of `time`. */
export interface CheckpointClaim {
  /** The conflict-log row id the chain ended at, as decimal text. */
  seq: string;
  hash: string;
  /** ISO-8601 UTC, as signed. */
  time: string;
}

export interface SignedCheckpoint extends CheckpointClaim {
  /** `keyIdOf` the signing key's public half. */
  keyId: string;
  /** Ed25519 over `checkpointMessage`, base64. */
  signature: string;
}

/** A checkpoint as published: the state store's checkpoint id as well. */
export interface PublishedCheckpoint extends SignedCheckpoint {
  id: string;
}

/**
 * The signed bytes: a fixed tag (so a signature cannot be taken for another
 * message signed with the same key) and the three fields, one per line.
 */
export function checkpointMessage(claim: CheckpointClaim): Buffer {
  return Buffer.from(`tandem-conflict-log-checkpoint-v1\n${claim.seq}\n${claim.hash}\n${claim.time}`, 'utf8');
}

export interface CheckpointSigner {
  keyId: string;
  sign(claim: CheckpointClaim): SignedCheckpoint;
}

export function checkpointSigner(privateKey: KeyObject): CheckpointSigner {
  const keyId = keyIdOf(createPublicKey(privateKey));
  return {
    keyId,
    sign: (claim) => ({ ...claim, keyId, signature: sign(null, checkpointMessage(claim), privateKey).toString('base64') }),
  };
}

/**
 * Checks a checkpoint against the public keys the auditor trusts: the one
 * named by its key id must verify its signature. Returns why not, or null.
 */
export function checkpointSignatureProblem(checkpoint: SignedCheckpoint, publicKeys: readonly KeyObject[]): string | null {
  const key = publicKeys.find((k) => keyIdOf(k) === checkpoint.keyId);
  if (!key) return `it was signed with key ${checkpoint.keyId}, which is not among the public keys given (${publicKeys.map(keyIdOf).join(', ') || 'none'})`;
  const signature = Buffer.from(checkpoint.signature, 'base64');
  if (signature.length !== 64 || !verify(null, checkpointMessage(checkpoint), key, signature)) return 'its signature does not verify (the checkpoint was altered or forged)';
  return null;
}

/** One line of a checkpoint file (JSON, no newline inside). */
export function formatCheckpointLine(checkpoint: PublishedCheckpoint): string {
  const { id, seq, hash, time, keyId, signature } = checkpoint;
  return JSON.stringify({ id, seq, hash, time, keyId, signature });
}

/** Reads one line of a checkpoint file; throws naming what is wrong. */
export function parseCheckpointLine(line: string): PublishedCheckpoint {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error('not JSON');
  }
  const record = (value ?? {}) as Record<string, unknown>;
  const fields = ['id', 'seq', 'hash', 'time', 'keyId', 'signature'] as const;
  for (const field of fields) {
    if (typeof record[field] !== 'string' || record[field] === '') throw new Error(`"${field}" is missing or not text`);
  }
  if (!/^\d+$/.test(record.seq as string)) throw new Error('"seq" is not a row id');
  return Object.fromEntries(fields.map((f) => [f, record[f]])) as unknown as PublishedCheckpoint;
}
