/**
 * JSON bodies from mapped rows: a mapping of a REST system names JSON
 * properties (`name`) or paths (`billing.city`), and `mapping.toRow` gives the
 * flat path → value row; this builds the nested object, and reads values
 * back from a response the same way.
 */
import { ApplyError } from '../../errors';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Nested JSON from a flat row of dotted property paths. A path that is both a value and a parent is an error. */
export function buildPayload(row: Record<string, unknown>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const path of Object.keys(row).sort()) {
    const parts = path.split('.');
    if (parts.some((p) => p === '')) throw invalid(path, 'an empty segment');
    let node: Record<string, Json> = out;
    for (const part of parts.slice(0, -1)) {
      if (!Object.prototype.hasOwnProperty.call(node, part)) node[part] = {};
      const next = node[part];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) throw invalid(path, `${part} also holds a value`);
      node = next as Record<string, Json>;
    }
    const leaf = parts[parts.length - 1]!;
    if (Object.prototype.hasOwnProperty.call(node, leaf)) throw invalid(path, 'it is also the parent of another property');
    node[leaf] = toJson(row[path]);
  }
  return out;
}

/** The value at a dotted path of a JSON value, or undefined. */
export function readPath(value: unknown, path: string): unknown {
  let node = value;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function toJson(value: unknown): Json {
  if (value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value as Json;
}

function invalid(path: string, why: string): ApplyError {
  return new ApplyError(`cannot build a JSON body: property path "${path}" has ${why}`, { retriable: false, code: 'REST_PAYLOAD_INVALID' });
}
