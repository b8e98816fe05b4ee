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
    await this.table()
      .insert(links.map((l) => ({ entity: l.entity, system: l.system, local_key: l.localKey, canonical_key: l.canonicalKey })))
      .onConflict(['entity', 'system', 'local_key'])
      .ignore();
    if (this.pending) this.pending.push(...links);
    else this.cache.remember(links);
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
    // Entity and system come in as scalar subqueries on purpose: a system that had no links
    // when the table was last analysed (a target's first minute) looks so rare to the planner
    // that it walked that system's whole slice of the primary key and filtered on the key
    // (measured: 1.5–7 ms per lookup of 30 keys at 15,000 links, 0.1 ms with the index on
    // all three columns). Not knowing the values, it picks the index that matches them all.
    const rows: Array<{ local_key: string; canonical_key: string }> = await this.table()
      .select('local_key', 'canonical_key')
      .whereRaw(`entity = (SELECT ?::text) AND system = (SELECT ?::text) AND ?? = ANY(?::text[])`, [entity, system, by, missing]);
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
