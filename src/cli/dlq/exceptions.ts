import { getRecord, listOpenExceptions, type OpenException } from '../../store';
import type { CanonicalRecord } from '../../transform';
import { EXIT_OK } from '../exit';
import { formatTable, processIo, runReporting, type Io } from '../io';
import { withStateStore } from '../state-store-access';
import { age } from './filters';

export interface DlqExceptionsOptions {
  config: string;
  limit?: number;
}

/**
 * `tandem dlq exceptions`: open exceptions, oldest first, and for each
 * refused field what the record holds (the value its rules accepted) beside
 * what the refusing system really holds (its shadow; `-` when it has none).
 */
export async function runDlqExceptions(options: DlqExceptionsOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const limit = options.limit ?? 100;
    const rows = await withStateStore(options.config, async ({ knex, schema }) => {
      const open = await listOpenExceptions(knex, schema, limit);
      return Promise.all(open.map(async (e) => ({ e, record: await getRecord(knex, schema, e.entity, e.key) })));
    });
    io.out(exceptionTable(rows));
    io.out(`${rows.length} open exception${rows.length === 1 ? '' : 's'}${rows.length === limit ? ` (the oldest ${limit}; --limit for more)` : ''}\n`);
    return EXIT_OK;
  });
}

export function exceptionTable(rows: Array<{ e: OpenException; record: CanonicalRecord | null }>, now = Date.now()): string {
  return formatTable(
    ['id', 'age', 'target', 'entity/key', 'from', 'field: record → target holds', 'refusals', 'letter', 'error'],
    rows.map(({ e, record }) => [
      e.id, age(e.openedAt, now), e.target, `${e.entity} ${e.key}`, e.origin ?? '-', heldValues(e, record), String(e.failures),
      e.deadLetterId ? `#${e.deadLetterId}` : '-', oneLine(e.error, 60),
    ]),
  );
}

function heldValues(e: OpenException, record: CanonicalRecord | null): string {
  if (e.fields.length === 0) return '(delete)';
  const shadow = record?.shadows[e.target] ?? {};
  return e.fields.map((f) => `${f}: ${show(record?.fields[f])} → ${f in shadow ? show(shadow[f]) : '-'}`).join('; ');
}

function show(value: unknown): string {
  return value === undefined ? '-' : oneLine(JSON.stringify(value), 40);
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
