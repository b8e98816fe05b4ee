import type { Command } from 'commander';
import { positiveInt, configOption } from '../options';

const CONFIG = ['-c, --config <file>', 'configuration file (YAML); names the state store'] as const;

function withFilters(command: Command): Command {
  return command
    .option('--kind <kind>', 'only event letters (could not be mapped) or task letters (could not be applied)')
    .option('--system <name>', 'only letters of this system (the source of an event, the target of a task)')
    .option('--since <time>', 'parked at or after: ISO time, or a span back from now (30m, 2h, 7d)')
    .option('--code <code>', 'only this error code (e.g. TABLE_UNMAPPED, APPLY_FAILED)');
}

/** `tandem dlq …`: the operator's view of the dead-letter store. Each subcommand loads its code when run. */
export function addDlqCommands(program: Command, setExit: (code: number) => void): void {
  const dlq = program.command('dlq').description('List, show, retry and discard dead letters: events that could not be mapped and tasks that could not be applied.');

  withFilters(dlq.command('list').description('Print dead letters, oldest first, as a table (open ones unless --status says otherwise).'))
    .addOption(configOption(CONFIG[1]))
    .option('--status <status>', 'open (default), retried or discarded')
    .option('-n, --limit <n>', 'at most this many letters, the oldest (default 100)', positiveInt)
    .action(async (opts: { config: string; kind?: string; system?: string; status?: string; since?: string; code?: string; limit?: number }) => {
      const { runDlqList } = await import('./list');
      setExit(await runDlqList(opts));
    });

  dlq.command('exceptions').description('Print open exceptions (records a target refused for good), oldest first: for each refused field, the record\'s value beside what the target really holds.')
    .addOption(configOption(CONFIG[1]))
    .option('-n, --limit <n>', 'at most this many exceptions, the oldest (default 100)', positiveInt)
    .action(async (opts: { config: string; limit?: number }) => {
      const { runDlqExceptions } = await import('./exceptions');
      setExit(await runDlqExceptions(opts));
    });

  dlq.command('show <id>').description('Print everything about one letter: the error, the task and where it stands now, or the raw event; the payload pretty-printed.')
    .addOption(configOption(CONFIG[1]))
    .action(async (id: string, opts: { config: string }) => {
      const { runDlqShow } = await import('./show');
      setExit(await runDlqShow(id, opts));
    });

  withFilters(dlq.command('retry [ids...]').description('Try open letters again: a task goes back to the outbox (attempts reset, due now); an event is re-run through the resolve stage with the current configuration and may be parked again.'))
    .addOption(configOption(CONFIG[1]))
    .option('--all', 'every open letter')
    .option('--by <name>', 'who retries, for the record (default: the OS user)')
    .action(async (ids: string[], opts: { config: string; all?: boolean; by?: string }) => {
      const { runDlqRetry } = await import('./retry');
      setExit(await runDlqRetry(ids, opts));
    });

  withFilters(dlq.command('discard [ids...]').description('Give up on open letters for good. Requires --reason; each discard is logged in the conflict log (decision discarded), covered by its hash chain.'))
    .addOption(configOption(CONFIG[1]))
    .option('--reason <text>', 'why the change is given up (required)')
    .option('--by <name>', 'who discards, for the log (default: the OS user)')
    .action(async (ids: string[], opts: { config: string; reason?: string; by?: string }) => {
      const { runDlqDiscard } = await import('./discard');
      setExit(await runDlqDiscard(ids, opts));
    });
}
