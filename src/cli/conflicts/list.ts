import { queryConflicts, type ConflictRow } from '../../store';
import { EXIT_OK } from '../exit';
import { formatTable, processIo, runReporting, type Io } from '../io';
import { withStateStore } from '../state-store-access';
import { shortJson, shortTime, toFilter, type FilterOptions } from './filters';

export interface ListOptions extends FilterOptions {
  config: string;
  limit?: number;
}

/** `tandem conflicts list`: the newest matching entries, as a table. */
export async function runConflictsList(options: ListOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const filter = toFilter(options);
    const limit = options.limit ?? 50;
    const rows = await withStateStore(options.config, ({ knex, schema }) => queryConflicts(knex, schema, filter, limit, true));
    io.out(conflictTable(rows));
    io.out(`${rows.length} entr${rows.length === 1 ? 'y' : 'ies'}${rows.length === limit ? ` (the newest ${limit}; --limit for more)` : ''}\n`);
    return EXIT_OK;
  });
}

export function conflictTable(rows: ConflictRow[]): string {
  return formatTable(
    ['id', 'time (UTC)', 'entity', 'key', 'field', 'system', 'decision', 'attempted → kept', 'rule'],
    rows.map((r) => [r.id, shortTime(r.loggedAt), r.entity, r.key, r.field, r.system, r.decision, `${shortJson(r.attempted)} → ${shortJson(r.kept)}`, r.rule]),
  );
}
