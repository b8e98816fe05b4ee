import { errorMessage, UsageError } from '../../errors';
import { discardLetter } from '../../pipeline';
import { compileMappings } from '../../transform';
import { EXIT_FAILURE, EXIT_OK } from '../exit';
import { processIo, runReporting, type Io } from '../io';
import { withStateStore } from '../state-store-access';
import { actor, toSelection, type DlqFilterOptions } from './filters';
import { selectLetters } from './retry';

export interface DlqDiscardOptions extends DlqFilterOptions {
  config: string;
  reason?: string;
  by?: string;
}

/**
 * `tandem dlq discard <id>... | <filters> --reason "<text>"`: gives up on
 * letters for good. A reason is required. Each discard marks the letter and,
 * in the same transaction, chains a `discarded` row onto the conflict log
 * (rule `dead letter #<id> discarded by <user>: <reason>`), so the hash chain
 * covers who dropped what and why.
 */
export async function runDlqDiscard(ids: string[], options: DlqDiscardOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const reason = options.reason?.trim();
    if (!reason) throw new UsageError('a discard needs a reason: --reason "<why this change is given up>"');
    const selection = toSelection(ids, options, false);
    const by = actor(options.by);
    return withStateStore(options.config, async (access) => {
      const letters = await selectLetters(access, selection);
      const registry = compileMappings(access.loaded.config.mappings);
      let failures = 0;
      for (const letter of letters) {
        try {
          const logged = await discardLetter(access, registry, letter, by, reason);
          io.out(`#${letter.id}: discarded, logged as conflict #${logged}\n`);
        } catch (error) {
          failures++;
          io.err(`#${letter.id}: not discarded: ${errorMessage(error)}\n`);
        }
      }
      io.out(`${letters.length - failures} of ${letters.length} letter${letters.length === 1 ? '' : 's'} discarded\n`);
      return failures > 0 ? EXIT_FAILURE : EXIT_OK;
    });
  });
}
