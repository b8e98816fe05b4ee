import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { addAuditCommands } from './audit';
import { addConflictsCommands } from './conflicts';
import { addDlqCommands } from './dlq';
import { UsageError } from '../errors';
import { EXIT_OK, EXIT_USAGE, reportError } from './exit';
import { endQuietlyOnBrokenPipe, keepRunningOnBrokenPipe } from './io';
import { CONFIG_VARIABLE, configOption } from './options';
import { addRulesCommands } from './rules';
import { runService } from './run-command';
import { runStatus } from './status-command';

function positiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('tandem')
    .description('Keeps an ERP and a CRM in step from their databases\u2019 change streams, with per-field ownership rules.')
    .version(packageVersion(), '-V, --version', 'print the version of tandem')
    .exitOverride()
    .showHelpAfterError();

  program
    .command('run')
    .description('Run the sync service (capture, resolve, apply) until SIGINT/SIGTERM.')
    .addOption(configOption('configuration file (YAML)'))
    .option('--skip-check', 'start without the preflight (tandem check); the ownership rules are still checked')
    .action(async (opts: { config: string; skipCheck?: boolean }) => {
      keepRunningOnBrokenPipe();
      setExit(await runService(opts.config, { skipCheck: opts.skipCheck }));
    });

  program
    .command('check')
    .description('Preflight: check every mapped table and column, key, column type, NOT NULL column, capture setting and privilege in the configured systems, and that Redis and Kafka answer. Exit 2 on errors, before anything is captured; warnings print.')
    .addOption(configOption('configuration file (YAML)'))
    .option('-f, --format <format>', 'table or json', 'table')
    .option('--timeout <ms>', 'per connection and query (default 5000)', positiveInt)
    .action(async (opts: { config: string; format: string; timeout?: number }) => {
      const { runCheck } = await import('./check-command');
      setExit(await runCheck({ config: opts.config, format: opts.format, timeoutMs: opts.timeout }));
    });

  program
    .command('demo')
    .description('Start an embedded PostgreSQL with an ERP and a CRM database, seed them, run a conflicting workload through the live pipeline, then check that both agree.')
    .option('-s, --seconds <n>', 'stop the workload after N seconds, drain and check convergence (default: run until Ctrl-C)', positiveInt)
    .option('--keep', 'leave the embedded database running after the verdict, for inspection')
    .option('--scenario <name>', 'default: ERP ⇄ CRM on embedded PostgreSQL; migration: old ERP on MariaDB, new ERP behind a REST API and the CRM, with an ownership cutover and customer merges mid-run')
    .option('--mysql-url <url>', 'migration scenario: a MariaDB server with its binlog on (default: TANDEM_DEMO_MYSQL_URL)')
    .action(async (opts: { seconds?: number; keep?: boolean; scenario?: string; mysqlUrl?: string }) => {
      const { runDemo, runMigrationDemo } = await import('../demo');
      keepRunningOnBrokenPipe();
      const scenario = opts.scenario ?? 'default';
      if (scenario === 'migration') {
        setExit(await runMigrationDemo({ seconds: opts.seconds, keep: opts.keep ?? false, mysqlUrl: opts.mysqlUrl }));
        return;
      }
      if (scenario !== 'default') throw new UsageError(`unknown demo scenario "${scenario}" (scenarios: default, migration)`);
      setExit(await runDemo({ seconds: opts.seconds, keep: opts.keep ?? false }));
    });

  program
    .command('status')
    .description('Print capture lag, replication-slot retained WAL, outbox depth, conflicts and dead letters as a table, or as JSON with --json (field names in the README).')
    .addOption(configOption('configuration file (YAML)'))
    .option('--json', 'print one JSON document (with --watch: one per line)')
    .option('-w, --watch [seconds]', 'redraw every N seconds (default 2) until Ctrl-C', positiveInt)
    .action(async (opts: { config: string; json?: boolean; watch?: number | true }) => {
      const watch = opts.watch === true ? 2 : opts.watch;
      setExit(await runStatus({ config: opts.config, json: opts.json, watch }));
    });

  program
    .command('decode [file]')
    .description('Print, one JSON line per message, what tandem makes of Debezium messages: a value file (with --key its key file; empty = tombstone), a JSON array of {key, value}, or console-consumer key<TAB>value lines; "-" or no file reads stdin.')
    .option('-k, --key <file>', 'key file of the single message in <file>')
    .option('-t, --topic <name>', 'topic the message came from (heartbeat topics are recognised by name)')
    .option('--system <name>', 'tandem system name (default: the connector\u2019s source.name)')
    .action(async (file: string | undefined, opts: { key?: string; topic?: string; system?: string }) => {
      const { runDecode } = await import('./decode-command');
      setExit(await runDecode(file, opts));
    });

  program
    .command('compare')
    .description('Compare every system\u2019s mapped tables with what the ownership rules say each should hold, through the mappings, converters and crosswalk; list what differs (missing, unlinked, deleted, field) and, with --repair, queue the rule-correct values through the outbox. Exit 0 when the systems agree, 1 when differences remain.')
    .addOption(configOption('configuration file (YAML)'))
    .option('-e, --entity <name...>', 'entities to compare (default: all)')
    .option('--systems <a,b>', 'systems to compare, comma-separated (default: every PostgreSQL and MySQL/MariaDB system mapping the entity)')
    .option('--repair', 'queue the rule-correct value for every unexplained difference (delivered by tandem run; each repair logged as decision "repair")')
    .option('-f, --format <format>', 'table, csv or json', 'table')
    .option('-n, --limit <n>', 'differences listed per entity (the counts are always complete)', positiveInt, 100)
    .option('--no-pushdown', 'read every row even where range hashes could be compared in the databases')
    .action(async (opts: { config: string; entity?: string[]; systems?: string; repair?: boolean; format: string; limit: number; pushdown: boolean }) => {
      const { runCompareCommand } = await import('./compare-command');
      setExit(await runCompareCommand(opts));
    });

  addConflictsCommands(program, setExit);
  addRulesCommands(program, setExit);
  addDlqCommands(program, setExit);
  addAuditCommands(program, setExit);

  program
    .command('replay')
    .description('Re-run changes recorded in the change journal through the resolver, from a source position (with --system) or a commit time; changes the records already hold are skipped, so a replay is harmless.')
    .addOption(configOption('configuration file (YAML); names the state store'))
    .requiredOption('--from <position|time>', 'first change: a source position of --system, an ISO time, or a span back from now (2h, 7d)')
    .option('--until <position|time>', 'last change: a position (inclusive) or a time (exclusive)')
    .option('--system <name>', 'only changes captured from this system (required with positions)')
    .option('--dry-run', 'report what would be re-run; write nothing')
    .action(async (opts: { config: string; from: string; until?: string; system?: string; dryRun?: boolean }) => {
      const { runReplay } = await import('./replay-command');
      setExit(await runReplay(opts));
    });

  return program;
}

function packageVersion(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<void> {
  let code = EXIT_OK;
  endQuietlyOnBrokenPipe();
  // An empty TANDEM_CONFIG is no file name: --config is then required, as when it is unset.
  if (process.env[CONFIG_VARIABLE] === '') delete process.env[CONFIG_VARIABLE];
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      code = error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    } else {
      code = reportError(error);
    }
  }
  process.exit(code);
}
