import { closeSync, openSync, writeSync } from 'node:fs';
import { UsageError } from '../../errors';
import { queryConflicts } from '../../store';
import { EXIT_OK } from '../exit';
import { processIo, runReporting, type Io } from '../io';
import { withStateStore } from '../state-store-access';
import { csvHeader, csvLine, exportObject } from './csv';
import { toFilter, type FilterOptions } from './filters';

export interface ExportOptions extends FilterOptions {
  config: string;
  format?: string;
  out?: string;
  limit?: number;
}

const PAGE = 1000;

/** `tandem conflicts export`: matching entries as CSV or JSON, oldest first, read a page at a time. */
export async function runConflictsExport(options: ExportOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const format = options.format ?? 'csv';
    if (format !== 'csv' && format !== 'json') throw new UsageError('--format must be csv or json');
    const filter = toFilter(options);
    const sink = options.out === undefined ? io.out : fileWriter(options.out);
    let count = 0;
    try {
      sink(format === 'csv' ? csvHeader() : '[');
      await withStateStore(options.config, async ({ knex, schema }) => {
        for (let afterId: string | undefined; ;) {
          const want = Math.min(PAGE, (options.limit ?? Infinity) - count);
          if (want <= 0) break;
          const rows = await queryConflicts(knex, schema, { ...filter, afterId }, want);
          for (const row of rows) {
            sink(format === 'csv' ? csvLine(row) : `${count === 0 ? '\n' : ',\n'}${JSON.stringify(exportObject(row))}`);
            count++;
          }
          if (rows.length < want) break;
          afterId = rows.at(-1)!.id;
        }
      });
      if (format === 'json') sink(count === 0 ? ']\n' : '\n]\n');
    } finally {
      if (options.out !== undefined) (sink as ReturnType<typeof fileWriter>).close();
    }
    if (options.out !== undefined) io.err(`exported ${count} entr${count === 1 ? 'y' : 'ies'} to ${options.out}\n`);
    return EXIT_OK;
  });
}

function fileWriter(path: string): ((text: string) => void) & { close(): void } {
  const fd = openSync(path, 'w');
  return Object.assign((text: string) => void writeSync(fd, text), { close: () => closeSync(fd) });
}
