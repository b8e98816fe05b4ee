import { readFileSync } from 'node:fs';

export interface BuildInfo {
  version: string;
  nodeVersion: string;
}

let cached: BuildInfo | null = null;

/** tandem's version (its package.json, shipped with the sources) and the Node.js running it. */
export function buildInfo(): BuildInfo {
  if (!cached) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    cached = { version: pkg.version || 'unknown', nodeVersion: process.versions.node };
  }
  return cached;
}
