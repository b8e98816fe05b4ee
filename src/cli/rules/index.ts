import type { Command } from 'commander';
import { positiveInt } from '../options';

const CONFIG = ['-c, --config <file>', 'configuration file (YAML)'] as const;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `tandem rules …`: check, explain and simulate ownership rules. Each subcommand loads its code when run. */
export function addRulesCommands(program: Command, setExit: (code: number) => void): void {
  const rules = program.command('rules').description('Check ownership rules against the mappings, explain a field\u2019s rule, diff two rule sets, replay history against proposed rules or cutover times.');

  rules.command('check').description('Validate the rules against the mappings; every finding names file, line and path. Exit 2 on errors (warnings and notes are fine).')
    .requiredOption(...CONFIG)
    .action(async (opts: { config: string }) => {
      const { runRulesCheck } = await import('./check');
      setExit(await runRulesCheck(opts));
    });

  rules.command('explain <entity.field>').description('Say which rule decides a field and why: the rule and where it is, the policy, transitions, corrections, and which systems map the field.')
    .requiredOption(...CONFIG)
    .action(async (target: string, opts: { config: string }) => {
      const { runRulesExplain } = await import('./explain');
      setExit(await runRulesExplain(target, opts));
    });

  rules.command('diff <old> <new>').description('List every field whose owner or policy differs between two configuration files (over time: owner versions and their cutovers), entity settings that differ, and cutover schedule changes.')
    .option('--json', 'print the differences as JSON')
    .action(async (oldFile: string, newFile: string, opts: { json?: boolean }) => {
      const { runRulesDiff } = await import('./diff');
      setExit(await runRulesDiff(oldFile, newFile, opts));
    });

  rules.command('simulate').description('Replay the change journal through the current rules and the proposed ones (another file, and/or planned cutover times), and report every decision that would differ. Reads the journal only; touches no system.')
    .requiredOption(...CONFIG)
    .option('-r, --rules <file>', 'proposed configuration (same format; its entities are the proposed rules, its mappings must match); default: the current one')
    .option('--cutover <name=time>', 'plan a cutover at this time (ISO, or a span back from now: 2h): replaces its at in the proposed rules; repeatable', collect, [] as string[])
    .option('--since <time>', 'report differences of changes committed since: ISO time or a span back from now (2h, 7d); the replay still starts at the oldest change')
    .option('-n, --examples <n>', 'examples to show (default 10)', positiveInt)
    .option('--json', 'print the report as JSON')
    .action(async (opts: { config: string; rules?: string; cutover: string[]; since?: string; examples?: number; json?: boolean }) => {
      const { runRulesSimulate } = await import('./simulate');
      setExit(await runRulesSimulate(opts));
    });
}
