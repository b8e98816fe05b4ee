import { loadConfig, readAllSecrets, type LoadedConfig } from '../config';
import { UsageError } from '../errors';
import { exitCodeOf, formatPreflight, preflightReport, runPreflight, type PreflightFinding, type PreflightReport } from '../preflight';
import { processIo, runReporting, type Io } from './io';
import { analyseRules } from './rules/analysis';

export interface CheckOptions {
  config: string;
  format?: string;
  timeoutMs?: number;
}

/**
 * `tandem check`: the rules check's errors and warnings, then every system,
 * table and column the configuration names, checked against the real
 * servers. Exit 2 when there is an error (1 when the only errors are
 * unreachable servers); warnings print and exit 0.
 */
export async function runCheck(options: CheckOptions, io: Io = processIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return runReporting(io, async () => {
    const format = options.format ?? 'table';
    if (format !== 'table' && format !== 'json') throw new UsageError(`--format is table or json, not ${format}`);
    const loaded = loadConfig(options.config, env);
    const result = await checkAll(loaded, env, options.timeoutMs);
    io.out(format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : formatPreflight(result));
    return exitCodeOf(result);
  });
}

/** Rules findings (errors and warnings) and the preflight, as one report. */
export async function checkAll(loaded: LoadedConfig, env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<PreflightReport> {
  readAllSecrets(loaded, env);
  const preflight = await runPreflight(loaded, { env, timeoutMs });
  return preflightReport([...rulesFindings(loaded), ...preflight.findings]);
}

/** `tandem rules check`'s errors and warnings as preflight findings (notes are left to that command). */
export function rulesFindings(loaded: LoadedConfig): PreflightFinding[] {
  return analyseRules(loaded.config).flatMap((f): PreflightFinding[] => f.severity === 'info' ? [] : [{
    severity: f.severity, system: 'rules', table: null, column: null, check: 'rules',
    message: `${f.path}${lineNote(loaded, f.path)}: ${f.message}`, fix: 'correct the rule (tandem rules check, tandem rules explain)',
  }]);
}

function lineNote(loaded: LoadedConfig, path: string): string {
  const line = loaded.lineOf?.(path);
  return line ? ` (line ${line})` : '';
}
