import { z } from 'zod';

/**
 * Environment variables that override settings, derived from the spec: every
 * scalar setting under the sections below gets `TANDEM_<SECTION>_<NAME>`, e.g.
 * `pipeline.applyConcurrency` ← `TANDEM_PIPELINE_APPLY_CONCURRENCY`.
 */
const OVERRIDABLE_SECTIONS = ['pipeline', 'health', 'metrics', 'log'] as const;

export interface EnvSetting {
  path: string[];
  variable: string;
  kind: 'number' | 'boolean' | 'string';
}

export function envVariableName(path: string[]): string {
  return ['TANDEM', ...path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2'))].join('_').toUpperCase();
}

export function envSettings(spec: z.ZodObject<z.ZodRawShape>): EnvSetting[] {
  const settings: EnvSetting[] = [];
  for (const section of OVERRIDABLE_SECTIONS) {
    const sectionSchema = unwrap(spec.shape[section] as z.ZodTypeAny);
    if (!(sectionSchema instanceof z.ZodObject)) continue;
    for (const [name, field] of Object.entries(sectionSchema.shape as z.ZodRawShape)) {
      const kind = scalarKind(unwrap(field));
      if (kind) settings.push({ path: [section, name], variable: envVariableName([section, name]), kind });
    }
  }
  return settings;
}

/** Applies overrides found in `env` to the raw (unvalidated) config object. */
export function applyEnvOverrides(raw: Record<string, unknown>, settings: EnvSetting[], env: NodeJS.ProcessEnv): string[] {
  const applied: string[] = [];
  for (const setting of settings) {
    const text = env[setting.variable];
    if (text === undefined || text === '') continue;
    const [section, name] = setting.path as [string, string];
    const target = (raw[section] ??= {}) as Record<string, unknown>;
    target[name] = parseScalar(text, setting.kind);
    applied.push(setting.variable);
  }
  return applied;
}

function parseScalar(text: string, kind: EnvSetting['kind']): unknown {
  if (kind === 'number') return Number(text);
  if (kind === 'boolean') return text === 'true' || text === '1';
  return text;
}

function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodOptional) current = current._def.innerType;
    else if (current instanceof z.ZodEffects) current = current._def.schema;
    else return current;
  }
}

function scalarKind(schema: z.ZodTypeAny): EnvSetting['kind'] | null {
  if (schema instanceof z.ZodNumber) return 'number';
  if (schema instanceof z.ZodBoolean) return 'boolean';
  if (schema instanceof z.ZodString || schema instanceof z.ZodEnum) return 'string';
  return null;
}
