import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve, dirname } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors';
import { connectorFor, isSystemType } from '../connectors';
import { configSpec, type SecretRef, type TandemConfig } from './spec';
import { applyEnvOverrides, envSettings } from './env';
import { allowedKeys, nearestKey } from './suggest';
import { checkConsistency } from './consistency';
import { readSecret } from './secrets';

export { readSecret, secretOrigin } from './secrets';

export interface LoadedConfig {
  config: TandemConfig;
  file: string;
  /** SHA-256 of the file's text: the rules version recorded in the conflict log. */
  version: string;
  /** Environment variables that overrode settings. */
  overrides: string[];
  /** The line a path (`systems.crm.url`) starts on, for messages about it. */
  lineOf?: (path: string) => number | undefined;
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read configuration: ${(error as Error).message}`, { file });
  }
  return parseConfig(text, file, env);
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const source = parseConfigSource(text, file, env);
  const problems = checkConsistency(source.config);
  if (problems.length > 0) {
    const text = problems.map((p) => `${p.path} (line ${source.lineOf(p.path) ?? '?'}): ${p.message}`);
    throw new ConfigError(`configuration is inconsistent:\n  ${text.join('\n  ')}`, { file });
  }
  return { config: source.config, file: source.file, version: source.version, overrides: source.overrides, lineOf: source.lineOf };
}

/** A configuration that is valid YAML and matches the spec, not yet cross-checked. */
export interface ConfigSource extends LoadedConfig {
  /** The line a path (`entities.customer.fields.name`) starts on, or the nearest enclosing one's. */
  lineOf(path: string): number | undefined;
}

/**
 * Parses and validates against the spec, throwing ConfigError with lines for
 * what is malformed; cross-checks are left to the caller (`tandem rules check`
 * reports them all instead of failing on the first).
 */
export function parseConfigSource(text: string, file: string, env: NodeJS.ProcessEnv = process.env): ConfigSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line;
    throw new ConfigError(`not valid YAML: ${first.message.split('\n')[0]}`, { file, path: line ? `line ${line}` : undefined });
  }
  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  const settings = envSettings(configSpec);
  const overrides = applyEnvOverrides(raw, settings, env);
  const parsed = configSpec.safeParse(raw);
  if (!parsed.success) {
    // A value an environment variable put there is reported against the variable, not a YAML line.
    const fromEnv = new Map(settings.filter((s) => overrides.includes(s.variable)).map((s) => [s.path.join('.'), s.variable]));
    throw new ConfigError(describeIssues(parsed.error, doc.contents, lines, fromEnv, raw), { file });
  }
  return {
    config: parsed.data, file: isAbsolute(file) ? file : resolve(file), version: sha256(text), overrides,
    lineOf: (path) => lineOf(doc.contents, path.split(/[.[\]]+/).filter(Boolean), lines),
  };
}

function describeIssues(error: z.ZodError, root: unknown, lines: LineCounter, fromEnv: ReadonlyMap<string, string>, raw: Record<string, unknown>): string {
  const described = error.issues.slice(0, 10).flatMap((reported) => {
    const issue = deepestIssue(reported);
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => unknownKey([...path, key], root, lines, raw));
    const variable = fromEnv.get(path.join('.'));
    const where = variable ? ` (from environment variable ${variable})` : lineText(lineOf(root, path, lines));
    return [`${formatPath(path) || '(top level)'}${where}: ${issue.message}${expected(issue)}${hint(path)}`];
  });
  return `invalid configuration:\n  ${described.join('\n  ')}`;
}

/** `systems.erp.captur (line 12): unknown key "captur"; did you mean "capture"?` */
function unknownKey(path: string[], root: unknown, lines: LineCounter, raw: Record<string, unknown>): string {
  const key = path.at(-1)!;
  const allowed = keysAllowedAt(path.slice(0, -1), raw);
  const nearest = nearestKey(key, allowed);
  const advice = nearest ? `did you mean "${nearest}"?` : allowed.length > 0 ? `allowed here: ${allowed.join(', ')}` : 'see the README for the allowed keys';
  return `${formatPath(path)}${lineText(lineOf(root, path, lines))}: unknown key "${key}"; ${advice}`;
}

/** A system's `capture` takes the form its `type` says, which the spec checks after parsing the system. */
function keysAllowedAt(path: string[], raw: Record<string, unknown>): string[] {
  if (path[0] === 'systems' && path[2] === 'capture') {
    const type = ((raw.systems as Record<string, { type?: unknown }> | undefined)?.[path[1]!])?.type;
    const spec = typeof type === 'string' && isSystemType(type) ? connectorFor(type).config.capture : undefined;
    return spec ? allowedKeys(spec, path.slice(3)) : [];
  }
  return allowedKeys(configSpec, path);
}

function lineText(line: number | undefined): string {
  return line ? ` (line ${line})` : '';
}

/**
 * A value that matches none of a union's forms (a field mapping is a column
 * name or an object) is reported by zod at the union; the form that got
 * furthest names the real problem (e.g. `convert[1]`).
 */
function deepestIssue(issue: z.ZodIssue): z.ZodIssue {
  if (issue.code !== 'invalid_union') return issue;
  let best: z.ZodIssue = issue;
  for (const union of issue.unionErrors) {
    for (const sub of union.issues) {
      const candidate = deepestIssue(sub);
      if (candidate.path.length > best.path.length) best = candidate;
    }
  }
  return best;
}

const CONVERTERS = 'trim, upper, lower, empty-to-null, {decimal: {scale: N}}, {enum: {source: canonical}}, {factor: N}, {timezone: Area/City}';

function hint(path: string[]): string {
  const at = path.lastIndexOf('convert');
  return at >= 0 && at >= path.length - 3 ? ` (converters: ${CONVERTERS})` : '';
}

function expected(issue: z.ZodIssue): string {
  if (issue.code === 'invalid_enum_value') return ` (expected one of ${issue.options.join(', ')})`;
  if (issue.code === 'invalid_union') return ' (see the README for the accepted forms)';
  return '';
}

export function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (/^\d+$/.test(String(p)) ? `[${p}]` : i === 0 ? String(p) : `.${p}`)).join('');
}

function lineOf(root: unknown, path: string[], lines: LineCounter): number | undefined {
  let node = root as Node | null | undefined;
  let found = node;
  for (const part of path) {
    if (isMap(node)) node = node.get(part, true) as Node | undefined;
    else if (isSeq(node)) node = node.get(Number(part), true) as Node | undefined;
    else break;
    if (node) found = node;
    else break;
  }
  const offset = found?.range?.[0];
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

export function configDir(loaded: LoadedConfig): string {
  return dirname(loaded.file);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Reads every secret the configuration names, so a missing one is reported
 * (as a configuration error, exit 2) before anything is connected.
 */
export function readAllSecrets(loaded: LoadedConfig, env: NodeJS.ProcessEnv = process.env): void {
  const { config } = loaded;
  const refs: Array<[string, SecretRef | undefined]> = [
    ['stateStore.url', config.stateStore.url],
    ['redis.url', config.redis?.url],
    ['kafka.sasl.password', config.kafka?.sasl?.password],
    ['audit.signingKey', config.audit?.signingKey],
    ['audit.sinks.webhook', config.audit?.sinks.webhook],
    ['console.token', config.console.token],
    ...Object.entries(config.systems).map(([name, system]) => [`systems.${name}.url`, system.url] as [string, SecretRef]),
    ...Object.entries(config.systems).map(([name, system]) => [`systems.${name}.apply.alertWebhook`, system.apply.alertWebhook] as [string, SecretRef | undefined]),
  ];
  for (const [path, ref] of refs) {
    if (!ref) continue;
    try {
      readSecret(ref, path, env, dirname(loaded.file));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const line = loaded.lineOf?.(path);
      throw new ConfigError(error.message, { file: loaded.file, path: line ? `${path} (line ${line})` : path }, { cause: error });
    }
  }
}
