import type { Knex } from 'knex';
import { chainHash, hashedContent, GENESIS_HASH } from '../conflict';
import { readChainHead, type ChainHead } from './audit-checkpoints';
import { entryOfRow } from './conflict-log';

/**
 * Something outside the chain that vouches for one of its rows: a signed
 * checkpoint, or a head recorded elsewhere (`--expect-head`). `source` says
 * which, for the report.
 */
export interface ChainAnchorClaim {
  seq: string;
  hash: string;
  /** When the claim was made (a checkpoint's signed time); rows after `seq` cannot have been logged before it. */
  time?: string;
  source: string;
}

export interface VerifyChainOptions {
  anchors?: readonly ChainAnchorClaim[];
  /** Clock difference tolerated between the instances that append and sign (default one minute). */
  maxClockSkewMs?: number;
}

export interface ChainVerdict {
  ok: boolean;
  rows: number;
  /** The head row as stored. */
  head: ChainHead;
  /** The first row whose content, link or anchor does not verify, and why. */
  firstBad?: { id: string; problem: string };
  /** Anchors whose row was found with the hash they name. */
  anchorsMatched: number;
  /** Rows newer than the newest anchor: only the database vouches for them. */
  unanchored?: { from: string; to: string; count: number };
}

/**
 * Recomputes the whole chain in id order, a page at a time, and checks it
 * against the anchors and the head row. Reports the first row, in log order,
 * that fails. Reads one snapshot (repeatable read), so a service appending
 * meanwhile cannot make the head and the rows disagree.
 */
export async function verifyConflictChain(knex: Knex, schema: string, options: VerifyChainOptions = {}): Promise<ChainVerdict> {
  return knex.transaction(async (trx) => {
    const head = await readChainHead(trx, schema);
    const walk = new ChainWalk(options.anchors ?? [], options.maxClockSkewMs ?? 60_000, head);
    let lastId = '0';
    outer: for (;;) {
      const page: Array<Record<string, unknown>> = await trx.withSchema(schema).table('conflicts').where('id', '>', lastId).orderBy('id').limit(1000);
      if (page.length === 0) break;
      for (const row of page) {
        if (walk.visit(row)) break outer;
        lastId = String(row.id);
      }
    }
    walk.finish();
    return walk.verdict();
  }, { isolationLevel: 'repeatable read', readOnly: true });
}

/** The checks, row by row, in log order; stops at the first problem. */
class ChainWalk {
  private readonly anchors: Array<ChainAnchorClaim & { at: bigint }>;
  private readonly newestTimed: (ChainAnchorClaim & { at: bigint }) | undefined;
  private next = 0;
  private prevHash = GENESIS_HASH;
  private prevPrevHash: string | null = null;
  private prevId: string | null = null;
  private lastMatched = 0n;
  private matched = 0;
  private count = 0;
  private unanchoredCount = 0;
  private firstUnanchored: string | null = null;
  private bad: { id: string; problem: string } | undefined;
  private firstBeyondHead: string | null = null;

  constructor(anchors: readonly ChainAnchorClaim[], private readonly skewMs: number, private readonly head: ChainHead) {
    this.anchors = anchors.filter((a) => a.seq !== '0').map((a) => ({ ...a, at: BigInt(a.seq) })).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    this.newestTimed = [...this.anchors].reverse().find((a) => a.time !== undefined);
  }

  /** Checks one row; true once a problem is found. */
  visit(row: Record<string, unknown>): boolean {
    this.count++;
    const id = String(row.id);
    const at = BigInt(id);
    // Both a skipped anchor and a broken link show at this row; the one naming the earlier row is reported.
    const found: Array<{ id: string; problem: string }> = [];
    const missing = this.anchors[this.next];
    if (missing && missing.at < at) {
      found.push({ id: missing.seq, problem: `the row is gone: ${missing.source} names it (hash ${short(missing.hash)}), but the log goes from row #${this.prevId ?? 'none'} to row #${id} (rows were removed)` });
    }
    if (row.prev_hash !== this.prevHash) {
      if (this.prevId !== null && row.prev_hash === this.prevPrevHash) {
        found.push({ id: this.prevId, problem: 'it was inserted out of place: the row after it links to the row before it' });
      } else {
        found.push({ id, problem: 'its link to the previous row is broken (a row before it was removed, or this row was inserted out of place)' });
      }
    }
    if (found.length > 0) {
      const first = found.reduce((a, b) => (BigInt(b.id) < BigInt(a.id) ? b : a));
      return this.fail(first.id, first.problem);
    }
    const loggedAt = new Date(row.logged_at as string);
    const content = hashedContent(loggedAt.toISOString(), row.rules_version as string, entryOfRow(row));
    if (chainHash(this.prevHash, content) !== row.hash) {
      return this.fail(id, 'its content does not match its hash (the row was altered)');
    }
    for (; this.anchors[this.next]?.at === at; this.next++) {
      const anchor = this.anchors[this.next]!;
      if (anchor.hash !== row.hash) return this.fail(id, this.rewritten(anchor, row.hash as string, at));
      this.lastMatched = at;
      this.matched++;
    }
    const newest = this.newestTimed;
    if (newest && at > newest.at) {
      if (loggedAt.getTime() < Date.parse(newest.time!) - this.skewMs) {
        return this.fail(id, `it was logged at ${loggedAt.toISOString()}, before ${newest.source}, which ends at row #${newest.seq}; yet it lies after that row: it was added afterwards`);
      }
    }
    if (this.anchors.length > 0 && at > this.anchors.at(-1)!.at) {
      this.firstUnanchored ??= id;
      this.unanchoredCount++;
    }
    if (this.firstBeyondHead === null && at > BigInt(this.head.seq)) this.firstBeyondHead = id;
    this.prevPrevHash = this.prevHash;
    this.prevHash = row.hash as string;
    this.prevId = id;
    return false;
  }

  /** After the last row: anchors beyond it, and the head row against the log. */
  finish(): void {
    const { head } = this;
    if (this.bad) return;
    const beyond = this.anchors[this.next];
    if (beyond) {
      this.fail(beyond.seq, `the row is gone: ${beyond.source} names it (hash ${short(beyond.hash)}), but the log ends at row #${this.prevId ?? 'none'} (the newest rows were removed)`);
      return;
    }
    const lastId = this.prevId ?? '0';
    if (BigInt(head.seq) < BigInt(lastId)) {
      // tandem moves the head in the transaction that appends: rows past it were not appended by tandem.
      this.fail(this.firstBeyondHead ?? head.seq, `it lies beyond the chain head (row #${head.seq}): it was inserted out of place, or the head was moved back`);
    } else if (BigInt(head.seq) > BigInt(lastId)) {
      this.fail(head.seq, `the chain head names row #${head.seq}, but the log ends at row #${lastId} (the newest rows were removed)`);
    } else if (head.hash !== this.prevHash) {
      this.fail(head.seq, `the chain head names hash ${short(head.hash)} for it, the row has ${short(this.prevHash)} (the head or the row was altered)`);
    }
  }

  verdict(): ChainVerdict {
    const verdict: ChainVerdict = { ok: this.bad === undefined, rows: this.count, head: this.head, anchorsMatched: this.matched };
    if (this.bad) verdict.firstBad = this.bad;
    if (!this.bad && this.firstUnanchored !== null) verdict.unanchored = { from: this.firstUnanchored, to: this.prevId!, count: this.unanchoredCount };
    return verdict;
  }

  private rewritten(anchor: ChainAnchorClaim, actual: string, at: bigint): string {
    const from = this.lastMatched + 1n;
    const span = from === at ? 'this row was rewritten' : `a row among #${from}..#${at} was rewritten (the newest earlier anchor, row #${this.lastMatched}, still matches)`;
    return `its hash ${short(actual)} no longer matches ${anchor.source}, which signed ${short(anchor.hash)}: ${span} and the hashes after it recomputed`;
  }

  private fail(id: string, problem: string): true {
    this.bad = { id, problem };
    return true;
  }
}

function short(hash: string): string {
  return hash.length > 16 ? `${hash.slice(0, 16)}…` : hash;
}
