import { formatReport, runCompare, type CompareFormat } from '../compare';
import { migrateStateStore } from '../store';
import { UsageError } from '../errors';
import { EXIT_FAILURE, EXIT_OK } from './exit';
import { processIo, runReporting, type Io } from './io';
import { withStateStore } from './state-store-access';

export interface CompareCommandOptions {
  config: string;
  entity?: string[];
  systems?: string;
  repair?: boolean;
  format?: string;
  limit?: number;
  /** Commander's `--no-pushdown`. */
  pushdown?: boolean;
}

const FORMATS: readonly CompareFormat[] = ['table', 'csv', 'json'];

/**
 * `tandem compare`: exit 0 when every compared system holds what the rules
 * say (differences a pending outbox task is about to fix excepted), 1 when
 * differences remain (also right after `--repair`: its writes are queued,
 * not yet applied), 2 for bad usage or configuration.
 */
export async function runCompareCommand(options: CompareCommandOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const format = (options.format ?? 'table') as CompareFormat;
    if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}; got ${options.format}`);
    const systems = options.systems?.split(',').map((s) => s.trim()).filter(Boolean);
    if (options.systems !== undefined && systems!.length === 0) throw new UsageError('--systems needs at least one system name (e.g. --systems erp,crm)');
    const report = await withStateStore(options.config, async ({ knex, schema, loaded }) => {
      // A repair writes records, links, outbox tasks and log entries: the schema must be current.
      if (options.repair) await migrateStateStore(knex, schema);
      return runCompare({
        loaded, store: knex, entities: options.entity, systems, repair: options.repair ?? false,
        limit: options.limit ?? 100, pushdown: options.pushdown !== false,
      });
    });
    io.out(formatReport(report, format));
    return report.agreed ? EXIT_OK : EXIT_FAILURE;
  });
}
