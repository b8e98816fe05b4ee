import type { Knex } from 'knex';
import { insertCheckpoint, newestCheckpoint, readChainHead, type ChainAnchor, type ChainHead, type StoredCheckpoint } from '../store';
import type { CheckpointSigner } from './checkpoint';

export interface CheckpointPolicy {
  /** A checkpoint once the head is this many rows past the newest one… */
  rows: number;
  /** …or once the newest one is this old and the head has moved since. */
  intervalMs: number;
}

interface Newest {
  seq: bigint;
  atMs: number;
}

/**
 * Decides when the chain is signed, and signs it. As the resolve stage's
 * `ChainAnchor` it runs inside the appending transaction with the head
 * locked: most batches cost nothing (an in-memory comparison); when a
 * checkpoint looks due it reads the newest checkpoint (another instance may
 * have written one) and, if still due, writes one signed row. `tick` does the
 * same from a timer, so a quiet log is still signed within the interval.
 */
export class Checkpointer implements ChainAnchor {
  /** What this process last saw of the newest checkpoint; may lag, never leads (set only from the table). */
  private newest: Newest | null = null;

  constructor(
    private readonly signer: CheckpointSigner,
    private readonly policy: CheckpointPolicy,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async anchor(trx: Knex.Transaction, schema: string, head: ChainHead): Promise<void> {
    if (!this.looksDue(head)) return;
    await this.signIfDue(trx, schema, head);
  }

  /** Signs the head from outside any append, when the interval has passed; true if it wrote a checkpoint. */
  async tick(knex: Knex, schema: string): Promise<boolean> {
    const head = await readChainHead(knex, schema);
    if (!this.looksDue(head)) return false;
    return knex.transaction(async (trx) => this.signIfDue(trx, schema, await readChainHead(trx, schema, true)));
  }

  private looksDue(head: ChainHead): boolean {
    const seq = BigInt(head.seq);
    if (seq === 0n) return false;
    const newest = this.newest;
    if (newest === null) return true;
    if (seq <= newest.seq) return false;
    return seq - newest.seq >= BigInt(this.policy.rows) || this.now().getTime() - newest.atMs >= this.policy.intervalMs;
  }

  /** With the head locked: re-reads the newest checkpoint and signs the head if a checkpoint is still due. */
  private async signIfDue(trx: Knex.Transaction, schema: string, head: ChainHead): Promise<boolean> {
    this.newest = newestOf(await newestCheckpoint(trx, schema));
    if (!this.looksDue(head)) return false;
    const signed = this.signer.sign({ seq: head.seq, hash: head.hash, time: this.now().toISOString() });
    await insertCheckpoint(trx, schema, signed);
    // Not remembered as the newest: the transaction may still roll back; the next look re-reads it.
    return true;
  }
}

function newestOf(checkpoint: StoredCheckpoint | null): Newest | null {
  return checkpoint ? { seq: BigInt(checkpoint.seq), atMs: Date.parse(checkpoint.time) } : null;
}
