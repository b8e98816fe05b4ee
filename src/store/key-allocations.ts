import type { Knex } from 'knex';

/** Allocated keys (see apply/key-allocation.ts), kept in the state store before the target row is inserted. */
export class KnexKeyAllocations {
  constructor(private readonly knex: Knex, private readonly schema: string) {}

  async get(system: string, entity: string, canonicalKey: string): Promise<string | null> {
    const row = await this.knex.withSchema(this.schema).table('key_allocations').where({ system, entity, canonical_key: canonicalKey }).first('local_key');
    return row ? String(row.local_key) : null;
  }

  async put(system: string, entity: string, canonicalKey: string, localKey: string): Promise<string> {
    // Two instances racing for one record: the first stored key wins and both use it.
    await this.knex.raw(
      `INSERT INTO ??.key_allocations (system, entity, canonical_key, local_key) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [this.schema, system, entity, canonicalKey, localKey],
    );
    return (await this.get(system, entity, canonicalKey))!;
  }
}
