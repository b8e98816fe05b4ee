/**
 * Reading a secret reference: a leaf of config (no spec, no connectors), so
 * the connectors, which the spec consults, can read secrets without a runtime
 * import cycle through config's index.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../errors';
import type { SecretRef } from './spec';

/** Where a secret comes from, for messages: `TANDEM_STATE_URL` or `file /run/secrets/state-url`. */
export function secretOrigin(ref: SecretRef): string {
  return 'env' in ref ? ref.env : `file ${ref.file}`;
}

/** Reads a secret from the environment or a file. Never logged. */
export function readSecret(ref: SecretRef, where: string, env: NodeJS.ProcessEnv = process.env, baseDir = process.cwd()): string {
  if ('env' in ref) {
    const value = env[ref.env];
    if (!value) throw new ConfigError(`environment variable ${ref.env} is not set`, { path: where });
    return value;
  }
  const path = isAbsolute(ref.file) ? ref.file : resolve(baseDir, ref.file);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`cannot read secret file ${path}: ${(error as Error).message}`, { path: where });
  }
}
