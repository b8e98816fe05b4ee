import type { Knex } from 'knex';
import { DEFAULT_DEDUP_TTL_SECONDS, type Dedup } from './dedup';


export interface StoreDedupOptions {
  /** The state store's knex (owned by the caller: `close()` leaves it open). */
  db: Knex;
  /** State store schema (default `tandem`). */
  schema?: string;
}

/** Rows per statement, well under PostgreSQL's 65535 bind parameters. */
const CHUNK = 1000;

/**
 * Dedup in the state store's `dedup` table, for running without Redis (the
 * embedded demo), and while Redis is away (FailoverDedup). Nothing expires by
 * itself: the pipeline's housekeeping calls `prune`.
 */
export class StoreDedup implements Dedup {
  readonly kind = 'state-store' as const;
  private readonly db: Knex;
  private readonly schema: string;

  constructor(options: StoreDedupOptions) {
    this.db = options.db;
    this.schema = options.schema ?? 'tandem';
  }

  async seenEvents(ids: string[]): Promise<Set<string>> {
    const seen = new Set<string>();
    for (const chunk of chunks([...new Set(ids)])) {
      const rows: { id: string }[] = await this.table().select('id').where('kind', 'event').whereIn('id', chunk);
      for (const row of rows) seen.add(row.id);
    }
    return seen;
  }

  async markEvents(ids: string[]): Promise<void> {
    for (const chunk of chunks([...new Set(ids)])) await this.insert(chunk.map((id) => ({ kind: 'event', id })));
  }

  async appliedTasks(ids: string[]): Promise<Set<string>> {
    const applied = new Set<string>();
    for (const chunk of chunks([...new Set(ids)])) {
      const rows: { id: string }[] = await this.table().select('id').where('kind', 'task').whereIn('id', chunk);
      for (const row of rows) applied.add(row.id);
    }
    return applied;
  }

  async markApplied(ids: string[]): Promise<void> {
    for (const chunk of chunks([...new Set(ids)])) await this.insert(chunk.map((id) => ({ kind: 'task', id })));
  }

  /** Forgets marks older than `olderThan` (default: as long as a Redis mark lives); returns how many. */
  async prune(olderThan: Date = new Date(Date.now() - DEFAULT_DEDUP_TTL_SECONDS * 1000)): Promise<number> {
    return Number(await this.table().where('created_at', '<', olderThan).delete());
  }

  /** The knex belongs to the state store. */
  async close(): Promise<void> {}

  private table(): Knex.QueryBuilder {
    return this.db.withSchema(this.schema).table('dedup');
  }

  private async insert(rows: { kind: string; id: string }[]): Promise<void> {
    if (rows.length > 0) await this.table().insert(rows).onConflict(['kind', 'id']).ignore();
  }
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}
