import mysql from 'mysql2/promise';
import { requireEnv, TEST_ENV } from './env';
import { uniqueName } from './names';
import type { TestDatabase } from './pg';

const quoteIdent = (name: string) => `\`${name.replace(/`/g, '``')}\``;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

async function withAdmin<T>(adminUrl: string, fn: (conn: mysql.Connection) => Promise<T>): Promise<T> {
  const conn = await mysql.createConnection({ uri: adminUrl, connectTimeout: 10_000 });
  try {
    return await fn(conn);
  } finally {
    await conn.end();
  }
}

/**
 * Creates a fresh database `<prefix>_<random>` (utf8mb4) on the test MariaDB
 * server (TANDEM_TEST_MYSQL_URL, or `adminUrl`). `drop()` kills the
 * connections using it, then drops it.
 */
export async function createMysqlDatabase(
  prefix: string,
  adminUrl: string = requireEnv(TEST_ENV.mysql),
): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  await withAdmin(adminUrl, (conn) => conn.query(`CREATE DATABASE ${quoteIdent(name)} CHARACTER SET utf8mb4`));
  let dropped: Promise<void> | undefined;
  return {
    url: withDatabase(adminUrl, name),
    name,
    drop: () => (dropped ??= dropMysqlDatabase(adminUrl, name)),
  };
}

/** Kills the connections using database `name`, then drops it (if it exists). */
export async function dropMysqlDatabase(adminUrl: string, name: string): Promise<void> {
  await withAdmin(adminUrl, async (conn) => {
    const [rows] = await conn.query<mysql.RowDataPacket[]>(
      'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()',
      [name],
    );
    for (const row of rows) {
      try {
        await conn.query(`KILL ${Number(row.id)}`);
      } catch {
        // already gone
      }
    }
    await conn.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
  });
}
