/**
 * Links the keys one record has in different systems (ERP customer number ⇄
 * CRM account uuid) to its canonical key. Filled on first sight; stored in
 * the state store (see `store/crosswalk-store.ts`).
 */
export interface Crosswalk {
  /** Canonical keys of the given local keys of `system`; missing ones are absent from the map. */
  canonicalKeys(entity: string, system: string, localKeys: string[]): Promise<Map<string, string>>;
  /** Local keys in `system` of the given canonical keys; missing ones are absent from the map. */
  localKeys(entity: string, system: string, canonicalKeys: string[]): Promise<Map<string, string>>;
  /** Records that `localKey` in `system` is the record `canonicalKey`. Idempotent. */
  link(entity: string, system: string, localKey: string, canonicalKey: string): Promise<void>;
}

/** The canonical key of a record first seen in `system` under `localKey`. */
export function newCanonicalKey(system: string, localKey: string): string {
  return `${system}:${localKey}`;
}
