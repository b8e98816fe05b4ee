import type { Command } from 'commander';
import { positiveInt, configOption } from '../options';

const CONFIG = ['-c, --config <file>', 'configuration file (YAML)'] as const;

/** `tandem rules …`: check, explain and simulate ownership rules. Each subcommand loads its code when run. */
export function addRulesCommands(program: Command, setExit: (code: number) => void): void {
  const rules = program.command('rules').description('Check ownership rules against the mappings, explain a field\u2019s rule, replay history against proposed rules.');

  rules.command('check').description('Validate the rules against the mappings; every finding names file, line and path. Exit 2 on errors (warnings and notes are fine).')
    .addOption(configOption(CONFIG[1]))
    .action(async (opts: { config: string }) => {
      const { runRulesCheck } = await import('./check');
      setExit(await runRulesCheck(opts));
    });

  rules.command('explain <entity.field>').description('Say which rule decides a field and why: the rule and where it is, the policy, transitions, corrections, and which systems map the field.')
    .addOption(configOption(CONFIG[1]))
    .action(async (target: string, opts: { config: string }) => {
      const { runRulesExplain } = await import('./explain');
      setExit(await runRulesExplain(target, opts));
    });

  rules.command('simulate').description('Replay the change journal through the current rules and the proposed ones, and report every decision that would differ. Reads the journal only; touches no system.')
    .addOption(configOption(CONFIG[1]))
    .requiredOption('-r, --rules <file>', 'proposed configuration (same format; its entities are the proposed rules, its mappings must match)')
    .option('--since <time>', 'report differences of changes committed since: ISO time or a span back from now (2h, 7d); the replay still starts at the oldest change')
    .option('-n, --examples <n>', 'examples to show (default 10)', positiveInt)
    .option('--json', 'print the report as JSON')
    .action(async (opts: { config: string; rules: string; since?: string; examples?: number; json?: boolean }) => {
      const { runRulesSimulate } = await import('./simulate');
      setExit(await runRulesSimulate(opts));
    });
}
