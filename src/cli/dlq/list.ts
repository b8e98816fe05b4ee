import { queryDeadLetters, type DeadLetterRow } from '../../store';

import { EXIT_OK } from '../exit';
import { formatTable, processIo, runReporting, type Io } from '../io';
import { withStateStore } from '../state-store-access';
import { age, subjectOf, toLetterFilter, type DlqFilterOptions } from './filters';

export interface DlqListOptions extends DlqFilterOptions {
  config: string;
  limit?: number;
}

/** `tandem dlq list`: dead letters, oldest first; open ones unless --status says otherwise. */
export async function runDlqList(options: DlqListOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const filter = toLetterFilter({ status: 'open', ...options });
    const limit = options.limit ?? 100;
    const rows = await withStateStore(options.config, ({ knex, schema }) => queryDeadLetters(knex, schema, filter, limit));
    io.out(letterTable(rows));
    const what = `${filter.status} dead letter${rows.length === 1 ? '' : 's'}`;
    io.out(`${rows.length} ${what}${rows.length === limit ? ` (the oldest ${limit}; --limit for more)` : ''}\n`);
    return EXIT_OK;
  });
}

export function letterTable(rows: DeadLetterRow[], now = Date.now()): string {
  return formatTable(
    ['id', 'age', 'kind', 'system', 'table/entity', 'code', 'error', 'attempts', 'correlation id'],
    rows.map((r) => [r.id, age(r.createdAt, now), r.kind, r.system ?? '-', subjectOf(r), r.errorCode, truncate(r.error, 48), String(r.attempts), r.correlationId ?? '-']),
  );
}

function truncate(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

