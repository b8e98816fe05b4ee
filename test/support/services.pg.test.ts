import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgDatabase, requireEnv, type TestDatabase } from './index';

describe('test PostgreSQL server', () => {
  const url = requireEnv('TANDEM_TEST_PG_URL');
  const cleanup: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of cleanup) await db.drop();
  });

  it('has wal_level = logical and room for replication slots', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string; setting: string }>(
        "SELECT name, setting FROM pg_settings WHERE name IN ('wal_level', 'max_replication_slots', 'max_wal_senders')",
      );
      const settings = Object.fromEntries(rows.map((r) => [r.name, r.setting]));
      expect(settings.wal_level).toBe('logical');
      expect(Number(settings.max_replication_slots)).toBeGreaterThanOrEqual(16);
      expect(Number(settings.max_wal_senders)).toBeGreaterThanOrEqual(16);
    } finally {
      await client.end();
    }
  });

  it('createPgDatabase makes a database, and drop() removes it with its replication slots', async () => {
    const db = await createPgDatabase('smoke');
    cleanup.push(db);
    expect(db.name).toMatch(/^smoke_[0-9a-f]{8}$/);
    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => {}); // drop() terminates this connection
    await client.connect();
    const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
    expect(rows[0]?.db).toBe(db.name);
    await client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [`${db.name}_slot`]);
    // leave the connection open: drop() must terminate it

    await db.drop();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const dbs = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.name]);
      const slots = await admin.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [`${db.name}_slot`]);
      expect(dbs.rowCount).toBe(0);
      expect(slots.rowCount).toBe(0);
    } finally {
      await admin.end();
      await client.end().catch(() => {});
    }
  });
});
