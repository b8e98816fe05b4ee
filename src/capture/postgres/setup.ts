/**
 * Server-side preparation on a normal connection: the publication (created,
 * or grown when the configuration names more tables), the slot's state, the
 * tables' primary keys.
 */
import { escapeIdentifier, type Client } from 'pg';
import { CaptureError, ConfigError } from '../../errors';
import { parseLsn } from './lsn';
import { quoteTable } from './connection';

export interface ServerState {
  database: string;
  serverVersion: number;
  /** Slot's confirmed_flush_lsn, or null when the slot does not exist yet. */
  slotConfirmedFlush: bigint | null;
  primaryKeys: Map<string, string[]>;
}

export async function prepareServer(client: Client, system: string, slot: string, publication: string, tables: string[]): Promise<ServerState> {
  const info = await client.query<{ db: string; version: string }>(
    `SELECT current_database() AS db, current_setting('server_version_num') AS version`,
  );
  const database = info.rows[0]?.db ?? '';
  await ensurePublication(client, publication, tables);
  return {
    database,
    serverVersion: Number(info.rows[0]?.version ?? 0),
    slotConfirmedFlush: await slotState(client, system, slot, database),
    primaryKeys: await primaryKeys(client, tables),
  };
}

async function ensurePublication(client: Client, publication: string, tables: string[]): Promise<void> {
  const pub = escapeIdentifier(publication);
  const existing = await client.query<{ puballtables: boolean }>('SELECT puballtables FROM pg_publication WHERE pubname = $1', [publication]);
  if (existing.rows.length === 0) {
    await client.query(`CREATE PUBLICATION ${pub} FOR TABLE ${tables.map(quoteTable).join(', ')}`);
    return;
  }
  if (existing.rows[0]?.puballtables) return;
  const published = await client.query<{ name: string }>(
    `SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables WHERE pubname = $1`,
    [publication],
  );
  const have = new Set(published.rows.map((r) => r.name));
  const missing = tables.filter((t) => !have.has(t));
  if (missing.length > 0) await client.query(`ALTER PUBLICATION ${pub} ADD TABLE ${missing.map(quoteTable).join(', ')}`);
}

async function slotState(client: Client, system: string, slot: string, database: string): Promise<bigint | null> {
  const result = await client.query<{ plugin: string; database: string; slot_type: string; confirmed: string | null }>(
    `SELECT plugin, database, slot_type, confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = result.rows[0];
  if (!row) return null;
  if (row.slot_type !== 'logical' || row.plugin !== 'pgoutput' || row.database !== database) {
    throw new ConfigError(`replication slot ${slot} exists but is not a pgoutput logical slot of database ${database}`, { system });
  }
  if (!row.confirmed) throw new CaptureError(`replication slot ${slot} has no confirmed_flush_lsn`, { system });
  return parseLsn(row.confirmed);
}

async function primaryKeys(client: Client, tables: string[]): Promise<Map<string, string[]>> {
  const result = await client.query<{ name: string; columns: string[] }>(
    `SELECT n.nspname || '.' || c.relname AS name,
            array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum)) AS columns
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey::int2[])
      WHERE i.indisprimary AND n.nspname || '.' || c.relname = ANY ($1::text[])
      GROUP BY 1`,
    [tables],
  );
  return new Map(result.rows.map((r) => [r.name, r.columns]));
}

/** Retained WAL: what the slot keeps the server from recycling. */
export async function retainedBytes(client: Client, slot: string): Promise<number | null> {
  const result = await client.query<{ bytes: string | null }>(
    `SELECT (pg_current_wal_lsn() - restart_lsn)::text AS bytes FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const bytes = result.rows[0]?.bytes;
  return bytes == null ? null : Number(bytes);
}
