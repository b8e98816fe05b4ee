import type { Knex } from 'knex';
import type { Crosswalk } from '../transform';

export interface Link {
  entity: string;
  system: string;
  localKey: string;
  canonicalKey: string;
}

/**
 * Crosswalk links never change once made, so lookups can be remembered.
 * Only committed links go in: what a transaction read from the table, or
 * linked and then committed (`remember` after commit).
 *
 * Memory (issue 10: it was the largest thing a backlog drain held): one map
 * per entity and system, keyed by the key itself, both directions sharing
 * the key strings; a concatenated `entity\0system\0key` per entry and
 * direction took 298 bytes per link (57 MiB at the 200,000 cap), this takes
 * about half.
 */
export class CrosswalkCache {
  private readonly toCanonical = new Map<string, Map<string, string>>();
  private readonly toLocal = new Map<string, Map<string, string>>();
  private size = 0;

  constructor(private readonly capacity = 200_000) {}

  canonical(entity: string, system: string, localKey: string): string | undefined {
    return this.toCanonical.get(groupOf(entity, system))?.get(localKey);
  }

  local(entity: string, system: string, canonicalKey: string): string | undefined {
    return this.toLocal.get(groupOf(entity, system))?.get(canonicalKey);
  }

  remember(links: readonly Link[]): void {
    // Dropping everything when full is crude but bounded, and misses only cost a query.
    if (this.size + links.length > this.capacity) {
      this.toCanonical.clear();
      this.toLocal.clear();
      this.size = 0;
    }
    for (const l of links) {
      const group = groupOf(l.entity, l.system);
      const forward = mapIn(this.toCanonical, group);
      if (!forward.has(l.localKey)) this.size++;
      forward.set(l.localKey, l.canonicalKey);
      mapIn(this.toLocal, group).set(l.canonicalKey, l.localKey);
    }
  }
}

const groupOf = (entity: string, system: string) => `${entity}\u0000${system}`;

function mapIn(maps: Map<string, Map<string, string>>, group: string): Map<string, string> {
  let map = maps.get(group);
  if (!map) {
    map = new Map();
    maps.set(group, map);
  }
  return map;
}

const id = (entity: string, system: string, key: string) => `${entity}\u0000${system}\u0000${key}`;

/** The map key `canonicalKeysOrLink` answers under. */
export const crosswalkMapKey = id;

/**
 * Links of some keys of one entity and system (`?` keys, `?` entity, `?`
 * system, `??` schema), by local or by canonical key. A lateral probe per key:
 * the only plan is one lookup of the unique index on all three columns per
 * key. Matching the keys with `= ANY` instead let the planner pick by
 * statistics: a system that had no links when the table was last analysed (a
 * target's first minute) looked so rare that it walked that system's whole
 * slice of the primary key and filtered on the key (measured: 1.5–7 ms per
 * lookup of 30 keys at 15,000 links, 0.1 ms with the index on all three).
 */
const LINKS_OF = {
  local_key: `SELECT c.local_key, c.canonical_key FROM unnest(?::text[]) AS k(key),
    LATERAL (SELECT * FROM ??.crosswalk c WHERE c.entity = ?::text AND c.system = ?::text AND c.local_key = k.key) c`,
  canonical_key: `SELECT c.local_key, c.canonical_key FROM unnest(?::text[]) AS k(key),
    LATERAL (SELECT * FROM ??.crosswalk c WHERE c.entity = ?::text AND c.system = ?::text AND c.canonical_key = k.key) c`,
} as const;

/** The crosswalk in the state store. Pass a transaction to make links part of a batch. */
export class KnexCrosswalk implements Crosswalk {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    private readonly schema: string,
    private readonly cache: CrosswalkCache = new CrosswalkCache(),
    /** Inside a transaction, links are remembered only once it commits (see `committedLinks`). */
    private readonly pending: Link[] | null = null,
  ) {}

  withTransaction(trx: Knex.Transaction): KnexCrosswalk {
    return new KnexCrosswalk(trx, this.schema, this.cache, []);
  }

  /** Links made in this transaction: pass them to `remember` after it commits. */
  committedLinks(): { remember(): void } {
    const links = this.pending ?? [];
    return { remember: () => this.cache.remember(links) };
  }

  async canonicalKeys(entity: string, system: string, localKeys: string[]): Promise<Map<string, string>> {
    return this.lookup(entity, system, localKeys, 'local_key', (k) => this.cache.canonical(entity, system, k));
  }

  async localKeys(entity: string, system: string, canonicalKeys: string[]): Promise<Map<string, string>> {
    return this.lookup(entity, system, canonicalKeys, 'canonical_key', (k) => this.cache.local(entity, system, k));
  }

  async link(entity: string, system: string, localKey: string, canonicalKey: string): Promise<void> {
    await this.linkMany([{ entity, system, localKey, canonicalKey }]);
  }

  async linkMany(links: Link[]): Promise<void> {
    if (links.length === 0) return;
    // Four array parameters, not four bind parameters per link (knex's multi-row VALUES).
    await this.db.raw(
      `INSERT INTO ??.crosswalk (entity, system, local_key, canonical_key)
       SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) ORDER BY 1, 2, 3
       ON CONFLICT (entity, system, local_key) DO NOTHING`,
      [this.schema, links.map((l) => l.entity), links.map((l) => l.system), links.map((l) => l.localKey), links.map((l) => l.canonicalKey)],
    );
    if (this.pending) this.pending.push(...links);
    else this.cache.remember(links);
  }

  /**
   * The canonical key of every wanted local key, all entities and systems in
   * one statement: a key the crosswalk (or its cache) has keeps its link,
   * a key it has not is linked to `candidate(system, localKey)`. One round
   * trip per batch whatever the mix of entities and systems.
   */
  async canonicalKeysOrLink(wanted: ReadonlyArray<{ entity: string; system: string; localKey: string }>, candidate: (system: string, localKey: string) => string): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const missing: Link[] = [];
    for (const w of wanted) {
      const mapKey = id(w.entity, w.system, w.localKey);
      if (found.has(mapKey)) continue;
      const hit = this.cache.canonical(w.entity, w.system, w.localKey);
      if (hit !== undefined) found.set(mapKey, hit);
      else {
        found.set(mapKey, '');
        missing.push({ ...w, canonicalKey: candidate(w.system, w.localKey) });
      }
    }
    if (missing.length === 0) return found;
    // Inserting the candidates and reading the links that were there before (the statement's
    // snapshot does not see its own inserts), in one statement. The read probes the primary key
    // once per key by its shape (see LINKS_OF), so it cannot turn into a scan on stale statistics.
    const { rows } = await this.db.raw(
      `WITH k AS (SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) AS k(entity, system, local_key, canonical_key)),
       linked AS (
         INSERT INTO ??.crosswalk (entity, system, local_key, canonical_key) SELECT * FROM k ORDER BY 1, 2, 3
         ON CONFLICT (entity, system, local_key) DO NOTHING RETURNING 1)
       SELECT k.entity, k.system, k.local_key, c.canonical_key FROM k,
         LATERAL (SELECT c.canonical_key FROM ??.crosswalk c WHERE c.entity = k.entity AND c.system = k.system AND c.local_key = k.local_key) c`,
      [missing.map((l) => l.entity), missing.map((l) => l.system), missing.map((l) => l.localKey), missing.map((l) => l.canonicalKey), this.schema, this.schema],
    );
    const existing = rows as Array<{ entity: string; system: string; local_key: string; canonical_key: string }>;
    const before = new Set<string>();
    const links = existing.map((r) => ({ entity: r.entity, system: r.system, localKey: r.local_key, canonicalKey: r.canonical_key }));
    for (const l of links) {
      found.set(id(l.entity, l.system, l.localKey), l.canonicalKey);
      before.add(id(l.entity, l.system, l.localKey));
    }
    const made = missing.filter((l) => !before.has(id(l.entity, l.system, l.localKey)));
    for (const l of made) found.set(id(l.entity, l.system, l.localKey), l.canonicalKey);
    // Links read were committed before this statement; links made wait for the commit.
    this.cache.remember(links);
    if (this.pending) this.pending.push(...made);
    else this.cache.remember(made);
    return found;
  }

  private async lookup(entity: string, system: string, keys: string[], by: 'local_key' | 'canonical_key', cached: (key: string) => string | undefined): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const missing: string[] = [];
    for (const key of new Set(keys)) {
      const hit = cached(key);
      if (hit === undefined) missing.push(key);
      else found.set(key, hit);
    }
    if (missing.length === 0) return found;
    // One array parameter: thousands of keys would otherwise be thousands of bind parameters.
    // One index probe per key on all three columns, by the query's shape (see LINKS_OF).
    const { rows } = (await this.db.raw(LINKS_OF[by], [missing, this.schema, entity, system])) as { rows: Array<{ local_key: string; canonical_key: string }> };
    const links = rows.map((r) => ({ entity, system, localKey: r.local_key, canonicalKey: r.canonical_key }));
    // Rows read here are committed unless this transaction made them; those wait for commit.
    if (this.pending === null) this.cache.remember(links);
    else this.cache.remember(links.filter((l) => !this.pending!.some((p) => p.localKey === l.localKey && p.entity === l.entity && p.system === l.system)));
    for (const r of rows) found.set(by === 'local_key' ? r.local_key : r.canonical_key, by === 'local_key' ? r.canonical_key : r.local_key);
    return found;
  }

  private table() {
    return this.db.withSchema(this.schema).table('crosswalk');
  }
}
