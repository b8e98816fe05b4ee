import { errorMessage, UsageError } from '../../errors';
import { EventRetrier, retryTaskLetter } from '../../pipeline';
import { getDeadLetter, queryDeadLetters, type DeadLetterRow } from '../../store';
import { EXIT_FAILURE, EXIT_OK } from '../exit';
import { processIo, runReporting, type Io } from '../io';
import { withStateStore, type StateStoreAccess } from '../state-store-access';
import { actor, toSelection, type DlqFilterOptions, type Selection } from './filters';

export interface DlqRetryOptions extends DlqFilterOptions {
  config: string;
  all?: boolean;
  by?: string;
}

/**
 * `tandem dlq retry <id>... | <filters> | --all`. A task letter's outbox task
 * is put back to pending (attempts reset, due now), or queued afresh from the
 * letter's copy if it is gone. An event letter's event is run through the
 * resolve stage again with the current configuration: it is resolved, or
 * parked again as a new letter if it still cannot be mapped. Either way the
 * letter is marked `retried`, with who, when and what happened.
 */
export async function runDlqRetry(ids: string[], options: DlqRetryOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const selection = toSelection(ids, options, true);
    const by = actor(options.by);
    return withStateStore(options.config, async (access) => {
      const letters = await selectLetters(access, selection);
      let failures = 0;
      const retrier = new EventRetrier(access);
      try {
        for (const letter of letters) {
          try {
            io.out(`#${letter.id}: ${letter.kind === 'task' ? await retryTaskLetter(access, letter, by) : await retrier.retry(letter, by)}\n`);
          } catch (error) {
            failures++;
            io.err(`#${letter.id}: not retried: ${errorMessage(error)}\n`);
          }
        }
      } finally {
        await retrier.close();
      }
      io.out(`${letters.length - failures} of ${letters.length} letter${letters.length === 1 ? '' : 's'} retried\n`);
      return failures > 0 ? EXIT_FAILURE : EXIT_OK;
    });
  });
}

/** Given ids must all exist and be open; filters select open letters. */
export async function selectLetters({ knex, schema }: StateStoreAccess, selection: Selection): Promise<DeadLetterRow[]> {
  if ('filter' in selection) return queryDeadLetters(knex, schema, selection.filter, 100_000);
  const letters: DeadLetterRow[] = [];
  for (const id of selection.ids) {
    const letter = await getDeadLetter(knex, schema, id);
    if (!letter) throw new UsageError(`no dead letter #${id}`);
    if (letter.status !== 'open') throw new UsageError(`#${id} is already ${letter.status} (by ${letter.resolvedBy} at ${letter.resolvedAt?.toISOString()})`);
    letters.push(letter);
  }
  return letters;
}
