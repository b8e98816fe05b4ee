/**
 * Reference fields (an order line's `order`) hold canonical keys in tandem
 * and local keys in a target. This is where a line waits for its header:
 * until the header has a local key in the target, the line cannot be written
 * without breaking the target's foreign key.
 */
import type { Value } from '../capture';
import { DependencyPendingError, type ErrorContext } from '../errors';
import type { Crosswalk, Fields, Mapping } from '../transform';

export interface ResolvedFields {
  /** The fields, reference values replaced by local key text. */
  fields: Fields;
  /** Reference fields whose record has no local key yet (lenient mode only). */
  unresolved: Set<string>;
}

export interface RefScope {
  mapping: Mapping;
  crosswalk: Crosswalk;
  /** For the error: the record being applied. */
  context: ErrorContext;
}

/**
 * Replaces canonical keys in reference fields by the target's local keys.
 * `require`: a missing one throws DependencyPendingError (retriable);
 * `lenient`: it is reported in `unresolved` (for expected values, which only
 * need to be compared).
 */
export async function resolveRefs(scope: RefScope, fields: Fields, mode: 'require' | 'lenient'): Promise<ResolvedFields> {
  const out: Fields = { ...fields };
  const unresolved = new Set<string>();
  for (const [refEntity, wanted] of refsByEntity(scope.mapping, fields)) {
    const found = await scope.crosswalk.localKeys(refEntity, scope.mapping.system, [...new Set(wanted.values())]);
    for (const [field, canonicalKey] of wanted) {
      const localKey = found.get(canonicalKey);
      if (localKey !== undefined) out[field] = localKey;
      else if (mode === 'lenient') unresolved.add(field);
      else throw pending(scope, field, refEntity, canonicalKey);
    }
  }
  return { fields: out, unresolved };
}

/** Ref entity → (field → canonical key) for the non-null reference fields present. */
function refsByEntity(mapping: Mapping, fields: Fields): Map<string, Map<string, string>> {
  const groups = new Map<string, Map<string, string>>();
  for (const binding of mapping.fields) {
    const value = fields[binding.field];
    if (!binding.ref || value === undefined || value === null) continue;
    const group = groups.get(binding.ref) ?? new Map<string, string>();
    group.set(binding.field, keyText(value));
    groups.set(binding.ref, group);
  }
  return groups;
}

export function keyText(value: Value): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function pending(scope: RefScope, field: string, refEntity: string, canonicalKey: string): DependencyPendingError {
  const { system, entity } = scope.mapping;
  return new DependencyPendingError(
    `${system}: ${entity} ${scope.context.key ?? ''} waits for ${refEntity} ${canonicalKey} (field ${field}), which ${system} does not have yet`,
    { ...scope.context, system, table: scope.mapping.table, entity },
  );
}
