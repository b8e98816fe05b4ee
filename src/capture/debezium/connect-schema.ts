/**
 * The Kafka Connect schema that the JsonConverter writes beside the payload
 * when `schemas.enable=true`. Semantic types hang off `name` and `parameters`
 * (a decimal's scale lives only here).
 */
import { isJsonObject, type Json } from './lossless-json';

export interface ConnectSchema {
  /** int8 int16 int32 int64 float32 float64 boolean string bytes array map struct */
  type: string;
  name?: string;
  parameters?: Record<string, string>;
  /** Struct fields, each with its `field` name. */
  fields?: ConnectSchema[];
  field?: string;
  items?: ConnectSchema;
  keys?: ConnectSchema;
  values?: ConnectSchema;
}

/** Reads a schema defensively: whatever is not a well-formed schema is null. */
export function readSchema(json: Json | undefined): ConnectSchema | null {
  if (!isJsonObject(json) || typeof json.type !== 'string') return null;
  const schema: ConnectSchema = { type: json.type };
  if (typeof json.name === 'string') schema.name = json.name;
  if (typeof json.field === 'string') schema.field = json.field;
  if (isJsonObject(json.parameters)) {
    schema.parameters = {};
    for (const [k, v] of Object.entries(json.parameters)) if (typeof v === 'string') schema.parameters[k] = v;
  }
  if (Array.isArray(json.fields)) {
    schema.fields = json.fields.map(readSchema).filter((f): f is ConnectSchema => f !== null);
  }
  for (const key of ['items', 'keys', 'values'] as const) {
    const inner = readSchema(json[key]);
    if (inner) schema[key] = inner;
  }
  return schema;
}

export function fieldOf(schema: ConnectSchema | null | undefined, name: string): ConnectSchema | null {
  return schema?.fields?.find((f) => f.field === name) ?? null;
}
