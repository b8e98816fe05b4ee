import type { Knex } from 'knex';
import type { Crosswalk } from '../transform';

/** The crosswalk in the state store. Pass a transaction to make links part of a batch. */
export class KnexCrosswalk implements Crosswalk {
  constructor(private readonly db: Knex | Knex.Transaction, private readonly schema: string) {}

  withTransaction(trx: Knex.Transaction): KnexCrosswalk {
    return new KnexCrosswalk(trx, this.schema);
  }

  async canonicalKeys(entity: string, system: string, localKeys: string[]): Promise<Map<string, string>> {
    if (localKeys.length === 0) return new Map();
    const rows: Array<{ local_key: string; canonical_key: string }> = await this.table()
      .select('local_key', 'canonical_key')
      .where({ entity, system })
      .whereIn('local_key', [...new Set(localKeys)]);
    return new Map(rows.map((r) => [r.local_key, r.canonical_key]));
  }

  async localKeys(entity: string, system: string, canonicalKeys: string[]): Promise<Map<string, string>> {
    if (canonicalKeys.length === 0) return new Map();
    const rows: Array<{ local_key: string; canonical_key: string }> = await this.table()
      .select('local_key', 'canonical_key')
      .where({ entity, system })
      .whereIn('canonical_key', [...new Set(canonicalKeys)]);
    return new Map(rows.map((r) => [r.canonical_key, r.local_key]));
  }

  async link(entity: string, system: string, localKey: string, canonicalKey: string): Promise<void> {
    await this.linkMany([{ entity, system, localKey, canonicalKey }]);
  }

  async linkMany(links: Array<{ entity: string; system: string; localKey: string; canonicalKey: string }>): Promise<void> {
    if (links.length === 0) return;
    await this.table()
      .insert(links.map((l) => ({ entity: l.entity, system: l.system, local_key: l.localKey, canonical_key: l.canonicalKey })))
      .onConflict(['entity', 'system', 'local_key'])
      .ignore();
  }

  private table() {
    return this.db.withSchema(this.schema).table('crosswalk');
  }
}
