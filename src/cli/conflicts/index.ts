import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { positiveInt, configOption } from '../options';
import { DECISIONS, type FilterOptions } from './filters';

const CONFIG = ['-c, --config <file>', 'configuration file (YAML); names the state store'] as const;

function withFilters(command: Command): Command {
  return command
    .option('--since <time>', 'entries logged at or after: ISO time, or a span back from now (30m, 2h, 7d)')
    .option('--until <time>', 'entries logged before: ISO time or a span back from now')
    .option('--entity <name>', 'only this entity')
    .option('--key <key>', 'only this canonical record key')
    .option('--field <name>', 'only this field (* for record existence)')
    .option('--system <name>', 'only changes from this system (manual for reviews)')
    .option('--decision <decision>', `only this decision: ${DECISIONS.join(', ')}`);
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const SPAN_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
function span(text: string): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError('expected a span such as 30s, 1m, 2h');
  return Number(match[1]) * SPAN_UNITS[match[2]!]!;
}

/** `tandem conflicts …`: the auditor's view of the hash-chained conflict log. Each subcommand loads its code when run. */
export function addConflictsCommands(program: Command, setExit: (code: number) => void): void {
  const conflicts = program
    .command('conflicts')
    .description('Read, export, verify the conflict log, and resolve entries held for manual review.');

  withFilters(conflicts.command('list').description('Print the newest matching conflict-log entries as a table.'))
    .addOption(configOption(CONFIG[1]))
    .option('-n, --limit <n>', 'at most this many entries, the newest (default 50)', positiveInt)
    .option('-w, --wide', 'print values in full (by default long values are shortened where they differ)')
    .action(async (opts: FilterOptions & { config: string; limit?: number; wide?: boolean }) => {
      const { runConflictsList } = await import('./list');
      setExit(await runConflictsList(opts));
    });

  conflicts.command('show <id>').description('Print every column of one entry: values as JSON, the patch, the hashes, and whether it awaits review.')
    .addOption(configOption(CONFIG[1]))
    .action(async (id: string, opts: { config: string }) => {
      const { runConflictsShow } = await import('./show');
      setExit(await runConflictsShow(id, opts));
    });

  withFilters(conflicts.command('export').description('Write matching entries, oldest first, as CSV (RFC 4180) or a JSON array.'))
    .addOption(configOption(CONFIG[1]))
    .option('-f, --format <format>', 'csv or json', 'csv')
    .option('-o, --out <file>', 'write to this file instead of stdout')
    .option('-n, --limit <n>', 'at most this many entries, the oldest', positiveInt)
    .action(async (opts: FilterOptions & { config: string; format: string; out?: string; limit?: number }) => {
      const { runConflictsExport } = await import('./export');
      setExit(await runConflictsExport(opts));
    });

  conflicts.command('verify')
    .description('Recompute the whole hash chain and check it against signed checkpoints and an expected head; exit 1 naming the first row altered, removed, inserted or no longer matching its checkpoint. Prints the head ("head: <seq>:<hash>") to record elsewhere.')
    .addOption(configOption(CONFIG[1]))
    .option('--expect-head <seq:hash>', 'a head printed by an earlier verify and kept outside the database: that row must still be there with that hash')
    .option('--checkpoints <file>', 'checkpoint file written by the audit.sinks.file sink (one signed JSON line per checkpoint); needs --public-key')
    .option('--public-key <file>', 'Ed25519 public key the checkpoints are signed with (PEM or raw base64); repeat for rotated keys', collect)
    .option('--max-clock-skew <span>', 'clock difference tolerated between tandem instances when dating rows against checkpoints (default 1m)', span)
    .action(async (opts: { config: string; expectHead?: string; checkpoints?: string; publicKey?: string[]; maxClockSkew?: number }) => {
      const { runConflictsVerify } = await import('./verify');
      setExit(await runConflictsVerify({ ...opts, maxClockSkewMs: opts.maxClockSkew }));
    });

  conflicts.command('pending').description('List entries held for manual review that nobody has resolved yet.')
    .addOption(configOption(CONFIG[1]))
    .option('-n, --limit <n>', 'at most this many entries, the oldest (default 1000)', positiveInt)
    .action(async (opts: { config: string; limit?: number }) => {
      const { runConflictsPending } = await import('./pending');
      setExit(await runConflictsPending(opts));
    });

  conflicts.command('resolve <id>')
    .description('Decide a held entry: keep the current value (--keep <system it came from>), the attempted one (--keep <system that attempted it>), or --value <json>; the value is written to every system mapping the field, and the decision is logged.')
    .addOption(configOption(CONFIG[1]))
    .option('-k, --keep <system>', 'keep this system\u2019s value')
    .option('--value <json>', 'set this value (JSON: "\\"ACME Ltd\\"", 1500.00, true)')
    .option('--by <name>', 'who decides, for the log (default: the OS user)')
    .action(async (id: string, opts: { config: string; keep?: string; value?: string; by?: string }) => {
      const { runConflictsResolve } = await import('./resolve');
      setExit(await runConflictsResolve(id, opts));
    });
}
