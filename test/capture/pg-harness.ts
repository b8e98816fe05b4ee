/** Helpers for the PostgreSQL source integration tests. */
import pg from 'pg';
import type { ChangeBatch, ChangeEvent, ChangeSource } from '../../src/capture';
import { createPostgresSource, type PostgresSourceOptions } from '../../src/capture';
import { waitFor } from '../support';

/**
 * The slot of the test database at `url`. Slots are cluster-wide and test
 * files run in parallel, so each test database gets its own slot name.
 */
export function slotOf(url: string): string {
  return `slot_${decodeURIComponent(new URL(url).pathname.slice(1))}`.slice(0, 63);
}

export function sourceOptions(url: string, over: Partial<PostgresSourceOptions>): PostgresSourceOptions {
  return {
    system: 'erp', connectionString: url, slot: slotOf(url), publication: 'tandem_pub', tables: [],
    heartbeatMs: 0, statusIntervalMs: 200, snapshot: 'never', maxBatchEvents: 100,
    snapshotted: new Set(), ...over,
  };
}

/** Runs a source and collects its batches; acknowledges each one when `autoAck`. */
export class Consumer {
  readonly batches: ChangeBatch[] = [];
  readonly done: Promise<void>;
  error: unknown = null;
  readonly source: ChangeSource;

  constructor(options: PostgresSourceOptions, autoAck = false) {
    const source = createPostgresSource(options);
    this.source = source;
    this.done = (async () => {
      try {
        for await (const batch of source.batches()) {
          this.batches.push(batch);
          if (autoAck) await source.acknowledge(batch.position);
        }
      } catch (error) {
        this.error = error;
      }
    })();
  }

  get events(): ChangeEvent[] {
    return this.batches.flatMap((b) => b.events);
  }

  async waitForEvents(count: number, timeoutMs = 15_000): Promise<ChangeEvent[]> {
    await waitFor(() => {
      if (this.error) throw this.error;
      return this.events.length >= count;
    }, { timeoutMs, message: () => `expected ${count} events, have ${this.events.length} (error: ${String(this.error)})` });
    return this.events;
  }

  async stop(): Promise<void> {
    await this.source.stop();
    await this.done;
  }
}

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function sql(url: string, ...statements: string[]): Promise<void> {
  await withClient(url, async (client) => {
    for (const statement of statements) await client.query(statement);
  });
}

/**
 * The slot is in use and past its consistent point. A slot is listed (and
 * active) while it is still being created; changes committed before its
 * consistent point are never streamed, so a test must not write before it.
 */
export async function slotActive(url: string, slot: string): Promise<boolean> {
  return withClient(url, async (c) => (await c.query(
    'SELECT active AND confirmed_flush_lsn IS NOT NULL AS ready FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows[0]?.ready === true);
}
