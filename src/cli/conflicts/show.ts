import { UsageError } from '../../errors';
import { getConflict, getReview, type ConflictRow, type ReviewRow } from '../../store';
import { EXIT_OK } from '../exit';
import { processIo, runReporting, type Io } from '../io';
import { withStateStore } from '../state-store-access';

export interface ShowOptions {
  config: string;
}

/** `tandem conflicts show <id>`: every column of one entry, and where its review stands. */
export async function runConflictsShow(id: string, options: ShowOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const conflictId = parseId(id);
    const { row, review } = await withStateStore(options.config, async ({ knex, schema }) => {
      const row = await getConflict(knex, schema, conflictId);
      return { row, review: row?.decision === 'held' ? await getReview(knex, schema, conflictId) : null };
    });
    if (!row) throw new UsageError(`no conflict-log entry #${conflictId}`);
    io.out(describeConflict(row, review));
    return EXIT_OK;
  });
}

/** A conflict id: the log's ids are positive whole numbers. */
export function parseId(text: string): string {
  const id = text.replace(/^#/, '');
  if (!/^[1-9]\d*$/.test(id)) throw new UsageError(`"${text}" is not a conflict-log id (a positive whole number)`);
  return id;
}

export function describeConflict(row: ConflictRow, review: ReviewRow | null): string {
  const json = (v: unknown) => JSON.stringify(v ?? null);
  const fields: Array<[string, string]> = [
    ['logged at', row.loggedAt.toISOString()],
    ['correlation id', row.correlationId],
    ['entity', row.entity],
    ['key', row.key],
    ['field', row.field],
    ['system', row.system],
    ['source table', row.table],
    ['position', row.position],
    ['transaction id', row.txId ?? '-'],
    ['commit time', row.commitTime.toISOString()],
    ['attempted', json(row.attempted)],
    ['before (writer saw)', json(row.before)],
    ['current (then)', json(row.current)],
    ['kept', json(row.kept)],
    ['rule', row.rule],
    ...(row.ruleVersion === null ? [] : [['rule version', row.ruleVersion] as [string, string]]),
    ['rules version', row.rulesVersion],
    ['decision', row.decision],
    ['corrected', row.corrected ? 'yes (the kept value is written back)' : 'no'],
    ['patch', json(row.patch)],
    ['previous hash', row.prevHash],
    ['hash', row.hash],
  ];
  if (row.decision === 'held') fields.push(['review', reviewText(row, review)]);
  const width = Math.max(...fields.map(([name]) => name.length));
  return `conflict #${row.id}\n${fields.map(([name, value]) => `  ${name.padEnd(width)}  ${value}\n`).join('')}`;
}

function reviewText(row: ConflictRow, review: ReviewRow | null): string {
  if (!review) return `pending (tandem conflicts resolve ${row.id} --keep <system> | --value <json>)`;
  const what = review.decision === 'kept' ? `kept ${review.system}'s value` : 'set a given value';
  return `resolved by ${review.resolvedBy} at ${review.resolvedAt.toISOString()}: ${what} ${JSON.stringify(review.value)} (logged as #${review.resolutionConflictId})`;
}
