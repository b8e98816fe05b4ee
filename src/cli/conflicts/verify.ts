import { verifyConflictChain } from '../../store';
import { EXIT_FAILURE, EXIT_OK } from '../exit';
import { processIo, runReporting, type Io } from '../io';
import { withStateStore } from '../state-store-access';

export interface VerifyOptions {
  config: string;
}

/** `tandem conflicts verify`: recomputes the whole hash chain; exit 1 names the first row that fails. */
export async function runConflictsVerify(options: VerifyOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const verdict = await withStateStore(options.config, ({ knex, schema }) => verifyConflictChain(knex, schema));
    if (verdict.ok) {
      io.out(`conflict log intact: ${verdict.rows} row${verdict.rows === 1 ? '' : 's'} checked, every hash and link verifies\n`);
      return EXIT_OK;
    }
    const bad = verdict.firstBad!;
    io.out(`conflict log TAMPERED: row #${bad.id}: ${bad.problem} (${verdict.rows} row${verdict.rows === 1 ? '' : 's'} checked)\n`);
    return EXIT_FAILURE;
  });
}
