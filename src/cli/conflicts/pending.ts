import { pendingReviews } from '../../store';
import { EXIT_OK } from '../exit';
import { processIo, runReporting, type Io } from '../io';
import { withStateStore } from '../state-store-access';
import { conflictTable } from './list';

export interface PendingOptions {
  config: string;
  limit?: number;
}

/** `tandem conflicts pending`: held entries (manual review) that nobody has resolved yet. */
export async function runConflictsPending(options: PendingOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const rows = await withStateStore(options.config, ({ knex, schema }) => pendingReviews(knex, schema, options.limit ?? 1000));
    if (rows.length === 0) {
      io.out('no entries waiting for review\n');
      return EXIT_OK;
    }
    io.out(conflictTable(rows));
    io.out(`${rows.length} waiting for review: tandem conflicts resolve <id> --keep <system> | --value <json>\n`);
    return EXIT_OK;
  });
}
