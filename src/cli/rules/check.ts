import { readFileSync } from 'node:fs';
import { parseConfigSource, type ConfigSource } from '../../config';
import { ConfigError } from '../../errors';
import { EXIT_OK, EXIT_USAGE } from '../exit';
import { processIo, runReporting, type Io } from '../io';
import { analyseRules, type Finding } from './analysis';

export interface CheckOptions {
  config: string;
}

/** `tandem rules check`: every finding as `file:line: severity: path: message`; exit 2 when there are errors. */
export async function runRulesCheck(options: CheckOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const source = readSource(options.config);
    const findings = analyseRules(source.config);
    for (const finding of findings) io.out(formatFinding(source, options.config, finding));
    const count = (severity: Finding['severity']) => findings.filter((f) => f.severity === severity).length;
    const errors = count('error');
    io.out(`${errors} error${errors === 1 ? '' : 's'}, ${count('warning')} warning${count('warning') === 1 ? '' : 's'}, ${count('info')} note${count('info') === 1 ? '' : 's'}\n`);
    return errors > 0 ? EXIT_USAGE : EXIT_OK;
  });
}

export function readSource(file: string): ConfigSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read configuration: ${(error as Error).message}`, { file });
  }
  return parseConfigSource(text, file);
}

export function formatFinding(source: ConfigSource, file: string, finding: Finding): string {
  return `${file}:${source.lineOf(finding.path) ?? '?'}: ${finding.severity}: ${finding.path}: ${finding.message}\n`;
}
