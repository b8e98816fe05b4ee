import pg from 'pg';
import { requireEnv, TEST_ENV } from './env';
import { uniqueName } from './names';
import { waitFor } from './wait';

export interface TestDatabase {
  /** Connection URL for the new database (same server, credentials and options). */
  url: string;
  /** The database's name, `<prefix>_<random>`. */
  name: string;
  /** Drops the database (and, for PostgreSQL, its replication slots). Safe to call twice. */
  drop(): Promise<void>;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates a fresh database `<prefix>_<random>` on the test PostgreSQL server
 * (TANDEM_TEST_PG_URL, or `adminUrl`). `drop()` terminates its backends
 * (walsenders included), drops the replication slots that belong to it, then
 * drops the database.
 */
export async function createPgDatabase(prefix: string, adminUrl: string = requireEnv(TEST_ENV.pg)): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${quoteIdent(name)}`));
  let dropped: Promise<void> | undefined;
  return {
    url: withDatabase(adminUrl, name),
    name,
    drop: () => (dropped ??= dropPgDatabase(adminUrl, name)),
  };
}

/** Terminates `name`'s backends, drops its replication slots and drops it (if it exists). */
export async function dropPgDatabase(adminUrl: string, name: string): Promise<void> {
  await withAdmin(adminUrl, async (client) => {
    await waitFor(
      async () => {
        await client.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        );
        const { rows } = await client.query<{ slot_name: string; active_pid: number | null }>(
          'SELECT slot_name, active_pid FROM pg_replication_slots WHERE database = $1',
          [name],
        );
        for (const slot of rows) {
          if (slot.active_pid !== null) {
            await client.query('SELECT pg_terminate_backend($1)', [slot.active_pid]);
            continue;
          }
          try {
            await client.query('SELECT pg_drop_replication_slot($1)', [slot.slot_name]);
          } catch {
            // became active again or already gone; the next round sees it
          }
        }
        const left = await client.query('SELECT 1 FROM pg_replication_slots WHERE database = $1', [name]);
        return left.rowCount === 0;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: `replication slots of database ${name} could not be dropped` },
    );
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  });
}
