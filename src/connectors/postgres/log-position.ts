/** PostgreSQL's write-ahead log, as drain and `tandem status` look at it. */
import pg from 'pg';

/** A heartbeat message written into the WAL; its LSN as tandem's position text. */
export async function emitPostgresMark(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ lsn: string }>(`SELECT pg_logical_emit_message(false, 'tandem.heartbeat', 'drain')::text AS lsn`);
    const [high, low] = rows[0]!.lsn.split('/') as [string, string];
    return `${high.padStart(8, '0')}${low.padStart(8, '0')}`.toUpperCase();
  } finally {
    await client.end();
  }
}

/** WAL the slot holds back (bytes); null when there is no such slot. */
export async function slotRetainedBytes(url: string, slot: string): Promise<number | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ bytes: string | null }>(
      'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text AS bytes FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    return rows[0]?.bytes ? Number(rows[0].bytes) : null;
  } finally {
    await client.end();
  }
}
