import { queryConflicts, type ConflictRow } from '../../store';
import { EXIT_OK } from '../exit';
import { formatTable, processIo, runReporting, type Io } from '../io';
import { withStateStore } from '../state-store-access';
import { shortPair, shortTime, toFilter, type FilterOptions } from './filters';

export interface ListOptions extends FilterOptions {
  config: string;
  limit?: number;
  /** Values in full, however long. */
  wide?: boolean;
}

/** `tandem conflicts list`: the newest matching entries, as a table. */
export async function runConflictsList(options: ListOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const filter = toFilter(options);
    const limit = options.limit ?? 50;
    const rows = await withStateStore(options.config, ({ knex, schema }) => queryConflicts(knex, schema, filter, limit, true));
    io.out(conflictTable(rows, options.wide));
    io.out(`${rows.length} entr${rows.length === 1 ? 'y' : 'ies'}${rows.length === limit ? ` (the newest ${limit}; --limit for more)` : ''}\n`);
    return EXIT_OK;
  });
}

export function conflictTable(rows: ConflictRow[], wide = false): string {
  return formatTable(
    ['id', 'time (UTC)', 'entity', 'key', 'field', 'system', 'decision', 'attempted → kept', 'rule'],
    rows.map((r) => [r.id, shortTime(r.loggedAt), r.entity, r.key, r.field, r.system, r.decision, valuePair(r, wide), r.rule]),
  );
}

/**
 * `attempted → kept`. Shortened, the two are cut so they still differ on
 * screen; when the change won (kept is what it attempted) they are cut where
 * it differs from the value it replaced. --wide prints them whole.
 */
function valuePair(row: ConflictRow, wide: boolean): string {
  if (wide) return `${JSON.stringify(row.attempted)} → ${JSON.stringify(row.kept)}`;
  const sameValue = JSON.stringify(row.attempted) === JSON.stringify(row.kept);
  const [attempted, against] = shortPair(row.attempted, sameValue ? row.current : row.kept);
  return `${attempted} → ${sameValue ? attempted : against}`;
}
