import { z } from 'zod';

/**
 * "Did you mean": for an unknown key, the allowed keys of the object it sits
 * in (read from the spec) and the nearest of them by edit distance.
 */

/** The keys an object at `path` of the spec accepts; empty when the path leads to no object. */
export function allowedKeys(spec: z.ZodTypeAny, path: ReadonlyArray<string | number>): string[] {
  let schemas = [spec];
  for (const part of path) schemas = schemas.flatMap((schema) => childSchemas(unwrap(schema), part));
  const keys = new Set<string>();
  for (const schema of schemas.flatMap((s) => alternatives(unwrap(s)))) {
    if (schema instanceof z.ZodObject) for (const key of Object.keys(schema.shape as z.ZodRawShape)) keys.add(key);
  }
  return [...keys];
}

/** The allowed key nearest to `key`, when it is near enough to be a slip (a typo, a wrong case, a letter missing). */
export function nearestKey(key: string, allowed: readonly string[]): string | null {
  let best: { key: string; distance: number } | null = null;
  for (const candidate of allowed) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (best === null || distance < best.distance) best = { key: candidate, distance };
  }
  if (best === null) return null;
  return best.distance <= Math.max(1, Math.floor(Math.max(key.length, best.key.length) / 3)) ? best.key : null;
}

/** Levenshtein distance, with a swap of two neighbouring letters counted as one edit. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

function childSchemas(schema: z.ZodTypeAny, part: string | number): z.ZodTypeAny[] {
  return alternatives(schema).flatMap((option) => {
    const inner = unwrap(option);
    if (inner instanceof z.ZodObject) {
      const child = (inner.shape as z.ZodRawShape)[String(part)];
      return child ? [child] : [];
    }
    if (inner instanceof z.ZodRecord) return [inner.valueSchema as z.ZodTypeAny];
    if (inner instanceof z.ZodArray) return [inner.element as z.ZodTypeAny];
    return [];
  });
}

/** A union's options (flattened), or the schema itself. */
function alternatives(schema: z.ZodTypeAny): z.ZodTypeAny[] {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodUnion || inner instanceof z.ZodDiscriminatedUnion) {
    return (inner.options as z.ZodTypeAny[]).flatMap((option) => alternatives(option));
  }
  return [inner];
}

function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodOptional || current instanceof z.ZodNullable) current = current._def.innerType;
    else if (current instanceof z.ZodEffects) current = current._def.schema;
    else if (current instanceof z.ZodLazy) current = current._def.getter();
    else if (current instanceof z.ZodPipeline) current = current._def.in;
    else return current;
  }
}
