import type { MappingSpec } from '../config/spec';
import { ConfigError, type ErrorContext } from '../errors';
import { compileConverters } from './converters';
import type { FieldBinding } from './mapping-types';

type FieldSpec = MappingSpec['fields'][string];

/** Compiles the field ⇄ column pairs of a mapping; bad converter options and doubly mapped columns are ConfigErrors. */
export function compileBindings(fields: MappingSpec['fields'], context: ErrorContext): FieldBinding[] {
  const byColumn = new Map<string, string>();
  return Object.entries(fields).map(([field, spec]) => {
    const at = { ...context, path: `fields.${field}` };
    const binding = compileBinding(field, spec, at);
    const other = byColumn.get(binding.column);
    if (other !== undefined) throw new ConfigError(`column ${binding.column} is mapped to both ${other} and ${field}`, at);
    byColumn.set(binding.column, field);
    return binding;
  });
}

function compileBinding(field: string, spec: FieldSpec, context: ErrorContext): FieldBinding {
  if (typeof spec === 'string') return binding(field, spec, null, false, []);
  if (spec.ref && spec.convert.length > 0) {
    // A reference column holds another row's key; it must stay as that row's
    // key text reads (see localKeyText), or the crosswalk lookup misses.
    throw new ConfigError(`reference field ${field} cannot have converters`, context);
  }
  try {
    return binding(field, spec.column, spec.ref ?? null, spec.readOnly, spec.convert);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`field ${field}: ${error.message}`, context, { cause: error });
    throw error;
  }
}

function binding(field: string, column: string, ref: string | null, readOnly: boolean, convert: Parameters<typeof compileConverters>[0]): FieldBinding {
  const converters = compileConverters(convert);
  return { field, column, ref, readOnly, toCanonical: converters.forward, fromCanonical: converters.backward };
}
