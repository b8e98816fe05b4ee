import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { Knex } from 'knex';
import { checkpointSignatureProblem, keyIdOf, parseCheckpointLine, parsePublicKey, type PublishedCheckpoint } from '../../audit';
import { UsageError } from '../../errors';
import { checkpointsAfter, verifyConflictChain, type ChainAnchorClaim, type ChainVerdict } from '../../store';
import { EXIT_FAILURE, EXIT_OK } from '../exit';
import { processIo, runReporting, type Io } from '../io';
import { withStateStore } from '../state-store-access';

export interface VerifyOptions {
  config: string;
  /** `<seq>:<hash>` as an earlier verify printed it ("head: …"), recorded outside the database. */
  expectHead?: string;
  /** A checkpoint file written by the `audit.sinks.file` sink (or collected from the webhook). */
  checkpoints?: string;
  /** Files holding the public keys the checkpoints may be signed with (PEM or raw base64). */
  publicKey?: string[];
  /** Clock difference tolerated between instances: ms. */
  maxClockSkewMs?: number;
}

interface Anchors {
  claims: ChainAnchorClaim[];
  /** Checkpoints that are themselves forged or altered: tampering before any row is read. */
  forged: string | null;
  summary: string[];
}

/**
 * `tandem conflicts verify`: recomputes the whole hash chain and checks it
 * against the anchors given (an expected head, a checkpoint file with the
 * public key) and the signed checkpoints the state store holds. Exit 1 names
 * the first row that no longer matches. Prints the head to record elsewhere.
 */
export async function runConflictsVerify(options: VerifyOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const expected = options.expectHead === undefined ? null : parseExpectedHead(options.expectHead);
    if (options.checkpoints !== undefined && (options.publicKey ?? []).length === 0) {
      throw new UsageError('--checkpoints needs --public-key <file>: a checkpoint is only evidence once its signature is checked');
    }
    const publicKeys = (options.publicKey ?? []).map(readPublicKey);
    const fileCheckpoints = options.checkpoints === undefined ? [] : readCheckpointFile(options.checkpoints);

    return withStateStore(options.config, async ({ knex, schema }) => {
      const anchors = collectAnchors(expected, fileCheckpoints, options.checkpoints, await storedCheckpoints(knex, schema), publicKeys);
      if (anchors.forged) {
        io.out(`conflict log TAMPERED: ${anchors.forged}\n`);
        return EXIT_FAILURE;
      }
      const verdict = await verifyConflictChain(knex, schema, { anchors: anchors.claims, maxClockSkewMs: options.maxClockSkewMs });
      io.out(report(verdict, anchors));
      return verdict.ok ? EXIT_OK : EXIT_FAILURE;
    });
  });
}

function report(verdict: ChainVerdict, anchors: Anchors): string {
  const rows = `${verdict.rows} row${verdict.rows === 1 ? '' : 's'}`;
  const head = `head: ${verdict.head.seq}:${verdict.head.hash}\n`;
  if (!verdict.ok) {
    const bad = verdict.firstBad!;
    return `conflict log TAMPERED: row #${bad.id}: ${bad.problem} (${rows} checked)\n${head}`;
  }
  const lines = [`conflict log intact: ${rows} checked, every hash and link verifies\n`];
  for (const line of anchors.summary) lines.push(`${line}\n`);
  if (anchors.claims.length > 0) lines.push(`anchors: ${verdict.anchorsMatched} of ${anchors.claims.length} match the log\n`);
  else lines.push('anchors: none (give --checkpoints with --public-key, or --expect-head, to detect truncation and a recomputed chain)\n');
  if (verdict.unanchored) {
    const { from, to, count } = verdict.unanchored;
    lines.push(`not yet anchored: rows #${from}..#${to} (${count}) are newer than the newest anchor; only the database vouches for them until the next checkpoint\n`);
  }
  lines.push(head);
  return lines.join('');
}

function collectAnchors(
  expected: { seq: string; hash: string } | null,
  fromFile: Array<{ line: number; checkpoint: PublishedCheckpoint }>,
  file: string | undefined,
  stored: PublishedCheckpoint[],
  publicKeys: KeyObject[],
): Anchors {
  const anchors: Anchors = { claims: [], forged: null, summary: [] };
  if (expected) anchors.claims.push({ ...expected, source: `the expected head ${expected.seq}:${expected.hash.slice(0, 16)}…` });
  for (const { line, checkpoint } of fromFile) {
    const problem = checkpointSignatureProblem(checkpoint, publicKeys);
    if (problem) {
      anchors.forged ??= `checkpoint file ${file}, line ${line} (row #${checkpoint.seq}): ${problem}`;
      continue;
    }
    anchors.claims.push({ seq: checkpoint.seq, hash: checkpoint.hash, time: checkpoint.time, source: `the checkpoint signed at ${checkpoint.time} (${file}, line ${line})` });
  }
  for (const checkpoint of stored) {
    const problem = publicKeys.length > 0 ? checkpointSignatureProblem(checkpoint, publicKeys) : null;
    if (problem) {
      anchors.forged ??= `the state store's checkpoint #${checkpoint.id} (row #${checkpoint.seq}): ${problem}`;
      continue;
    }
    const checked = publicKeys.length > 0 ? 'signed' : 'signature not checked: no --public-key';
    anchors.claims.push({ seq: checkpoint.seq, hash: checkpoint.hash, time: checkpoint.time, source: `the state store's checkpoint #${checkpoint.id} of ${checkpoint.time} (${checked})` });
  }
  if (file !== undefined) anchors.summary.push(`checkpoints: ${fromFile.length} in ${file}, signatures verified with key ${publicKeys.map(keyIdOf).join(', ')}`);
  anchors.summary.push(`checkpoints in the state store: ${stored.length}${stored.length > 0 ? (publicKeys.length > 0 ? ', signatures verified' : ', signatures not checked (no --public-key)') : ''}`);
  if (expected) anchors.summary.push(`expected head: row #${expected.seq}`);
  return anchors;
}

function parseExpectedHead(text: string): { seq: string; hash: string } {
  // `0:genesis` is the head of an empty log, as verify prints it.
  const match = /^(\d+):([0-9a-f]{64}|genesis)$/.exec(text.trim());
  if (!match) throw new UsageError(`--expect-head takes <seq>:<hash> as verify prints it ("head: 42:3f1c…"), not "${text}"`);
  return { seq: BigInt(match[1]!).toString(), hash: match[2]! };
}

function readPublicKey(file: string): KeyObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the public key ${file}: ${(error as Error).message}`);
  }
  try {
    return parsePublicKey(text);
  } catch (error) {
    throw new UsageError(`${file}: ${(error as Error).message}`);
  }
}

function readCheckpointFile(file: string): Array<{ line: number; checkpoint: PublishedCheckpoint }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the checkpoint file ${file}: ${(error as Error).message}`);
  }
  const out: Array<{ line: number; checkpoint: PublishedCheckpoint }> = [];
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      out.push({ line: index + 1, checkpoint: parseCheckpointLine(line) });
    } catch (error) {
      // A torn final line (a crash while appending) is not evidence either way.
      const torn = index === lines.length - 1 && !text.endsWith('\n');
      if (!torn) throw new UsageError(`${file}, line ${index + 1}: not a checkpoint: ${(error as Error).message}`);
    }
  });
  return out;
}

async function storedCheckpoints(knex: Knex, schema: string): Promise<PublishedCheckpoint[]> {
  if (!(await knex.schema.withSchema(schema).hasTable('audit_checkpoints'))) return [];
  const all: PublishedCheckpoint[] = [];
  for (let after = '0'; ; ) {
    const page = await checkpointsAfter(knex, schema, after, 5000);
    if (page.length === 0) return all;
    all.push(...page);
    after = page.at(-1)!.id;
  }
}
