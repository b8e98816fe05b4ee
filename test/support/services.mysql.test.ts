import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { createMysqlDatabase, requireEnv, type TestDatabase } from './index';

describe('test MariaDB server', () => {
  const url = requireEnv('TANDEM_TEST_MYSQL_URL');
  const cleanup: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of cleanup) await db.drop();
  });

  it('writes a ROW-format binlog', async () => {
    const conn = await mysql.createConnection(url);
    try {
      const [rows] = await conn.query<mysql.RowDataPacket[]>(
        'SELECT @@log_bin AS log_bin, @@binlog_format AS binlog_format, @@binlog_row_image AS row_image, @@server_id AS server_id',
      );
      expect(rows[0]).toMatchObject({ log_bin: 1, binlog_format: 'ROW', row_image: 'FULL' });
      expect(Number(rows[0]?.server_id)).toBeGreaterThan(0);
    } finally {
      await conn.end();
    }
  });

  it('createMysqlDatabase makes a database, and drop() removes it', async () => {
    const db = await createMysqlDatabase('smoke');
    cleanup.push(db);
    expect(db.name).toMatch(/^smoke_[0-9a-f]{8}$/);
    const conn = await mysql.createConnection(db.url);
    conn.on('error', () => {}); // drop() kills this connection
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT DATABASE() AS db');
    expect(rows[0]?.db).toBe(db.name);
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY)');
    // leave the connection open: drop() must kill it

    await db.drop();
    const admin = await mysql.createConnection(url);
    try {
      const [left] = await admin.query<mysql.RowDataPacket[]>(
        'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
        [db.name],
      );
      expect(left).toHaveLength(0);
    } finally {
      await admin.end();
      conn.destroy();
    }
  });
});
