import { InvalidArgumentError, Option } from 'commander';

/** Commander parser for counts and limits. */
export function positiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

/** The environment variable that names the configuration file when --config is not given. */
export const CONFIG_VARIABLE = 'TANDEM_CONFIG';

/**
 * Every command's `-c, --config <file>`: required, but TANDEM_CONFIG stands
 * in for it, so a shell that exports it once runs `tandem status` bare.
 */
export function configOption(description: string): Option {
  return new Option('-c, --config <file>', description).env(CONFIG_VARIABLE).makeOptionMandatory();
}
