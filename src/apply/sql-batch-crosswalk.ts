/**
 * The crosswalk as one batch sees it: the keys it needs are read up front in
 * one query per entity and answered from memory afterwards; links are held
 * back until the batch's transaction has committed, then written at once.
 */
import type { Crosswalk } from '../transform';

export interface Link {
  entity: string;
  system: string;
  localKey: string;
  canonicalKey: string;
}

/** A crosswalk that can link many keys in one call (KnexCrosswalk). */
interface LinksMany {
  linkMany(links: Link[]): Promise<void>;
}

export class BatchCrosswalk implements Crosswalk {
  /** `entity|system` → canonical key → local key, for the keys asked (absent ones map to null). */
  private readonly local = new Map<string, Map<string, string | null>>();
  /** Links made in this batch: `entity|system|localKey` → canonical key. */
  private readonly linked = new Map<string, string>();
  private readonly pending: Link[] = [];

  constructor(private readonly inner: Crosswalk) {}

  /** Reads the local keys of `canonicalKeys` in one query, for later lookups. */
  async preload(entity: string, system: string, canonicalKeys: string[]): Promise<void> {
    await this.localKeys(entity, system, canonicalKeys);
  }

  async localKeys(entity: string, system: string, canonicalKeys: string[]): Promise<Map<string, string>> {
    const known = this.known(entity, system);
    const missing = [...new Set(canonicalKeys.filter((k) => !known.has(k)))];
    if (missing.length > 0) {
      const found = await this.inner.localKeys(entity, system, missing);
      for (const key of missing) known.set(key, found.get(key) ?? null);
    }
    const out = new Map<string, string>();
    for (const key of canonicalKeys) {
      const localKey = known.get(key);
      if (localKey != null) out.set(key, localKey);
    }
    return out;
  }

  /** Asks the store (rare: adopting a retried insert), then overlays this batch's links. */
  async canonicalKeys(entity: string, system: string, localKeys: string[]): Promise<Map<string, string>> {
    const found = await this.inner.canonicalKeys(entity, system, localKeys);
    for (const localKey of localKeys) {
      const canonicalKey = this.linked.get(`${entity}|${system}|${localKey}`);
      if (canonicalKey !== undefined) found.set(localKey, canonicalKey);
    }
    return found;
  }

  /** Remembered, and written by `flush`. */
  async link(entity: string, system: string, localKey: string, canonicalKey: string): Promise<void> {
    this.known(entity, system).set(canonicalKey, localKey);
    this.linked.set(`${entity}|${system}|${localKey}`, canonicalKey);
    this.pending.push({ entity, system, localKey, canonicalKey });
  }

  /** Writes the links made since the last flush, in one call when the crosswalk can. */
  async flush(): Promise<void> {
    const links = this.pending.splice(0);
    if (links.length === 0) return;
    if (hasLinkMany(this.inner)) {
      await this.inner.linkMany(links);
      return;
    }
    for (const l of links) await this.inner.link(l.entity, l.system, l.localKey, l.canonicalKey);
  }

  private known(entity: string, system: string): Map<string, string | null> {
    const id = `${entity}|${system}`;
    let map = this.local.get(id);
    if (!map) {
      map = new Map();
      this.local.set(id, map);
    }
    return map;
  }
}

function hasLinkMany(crosswalk: Crosswalk): crosswalk is Crosswalk & LinksMany {
  return typeof (crosswalk as Partial<LinksMany>).linkMany === 'function';
}
