/**
 * What the state store writes per change (issue 10): WAL bytes and records
 * that touch the state database, and row writes per table.
 *
 * The server is shared (source, target, other databases), so the server-wide
 * `pg_current_wal_lsn()` difference overstates it: the WAL is read back with
 * pg_walinspect and only records with a block in the state database count
 * (their whole length, full-page images included). Transaction commit records
 * carry no block and are left out (about 40 bytes per resolve transaction).
 * The WAL is read as it is written (every second), so segments recycled by a
 * checkpoint during a long phase are not missed.
 */
import pg from 'pg';

export interface StateCost {
  walBytes: number;
  walRecords: number;
  fullPageImageBytes: number;
  /** WAL bytes per relation (a table or index of the state schema; a record touching several counts in each). */
  walBytesByRelation: Record<string, number>;
  /** n_tup_ins + n_tup_upd + n_tup_del per table of the state schema. */
  rowWrites: Record<string, number>;
}

export interface StateCostMeter {
  stop(): Promise<StateCost>;
}

type Writes = Map<string, number>;

async function tableWrites(client: pg.Client, schema: string): Promise<Writes> {
  // Statistics are sent by backends at most once a second: read what has arrived.
  await client.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await client.query<{ relname: string; n: string }>(
    `SELECT relname, (n_tup_ins + n_tup_upd + n_tup_del)::text AS n FROM pg_stat_user_tables WHERE schemaname = $1`, [schema]);
  return new Map(rows.map((r) => [r.relname, Number(r.n)]));
}

/** Starts counting; `stateUrl` is a superuser connection to the state database. */
export async function startStateCost(stateUrl: string, schema: string): Promise<StateCostMeter> {
  const client = new pg.Client({ connectionString: stateUrl });
  await client.connect();
  await client.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
  const dbOid = Number((await client.query(`SELECT oid FROM pg_database WHERE datname = current_database()`)).rows[0].oid);
  const before = await tableWrites(client, schema);
  let cursor = (await client.query(`SELECT pg_current_wal_lsn()::text AS l`)).rows[0].l as string;
  const total = { walBytes: 0, walRecords: 0, fullPageImageBytes: 0 };
  const byRelfilenode = new Map<string, number>();
  const readUpTo = async () => {
    const end = (await client.query(`SELECT pg_current_wal_flush_lsn()::text AS l`)).rows[0].l as string;
    const { rows } = await client.query(
      `SELECT count(*)::int AS records, coalesce(sum(record_length), 0)::bigint AS bytes, coalesce(sum(fpi), 0)::bigint AS fpi
       FROM (SELECT start_lsn, max(record_length) AS record_length, sum(block_fpi_length) AS fpi
             FROM pg_get_wal_block_info($1::pg_lsn, $2::pg_lsn) WHERE reldatabase = $3 GROUP BY start_lsn) r`,
      [cursor, end, dbOid]);
    total.walRecords += rows[0].records;
    total.walBytes += Number(rows[0].bytes);
    total.fullPageImageBytes += Number(rows[0].fpi);
    const { rows: rels } = await client.query(
      `SELECT relfilenode::text AS rel, sum(record_length)::bigint AS bytes
       FROM (SELECT DISTINCT start_lsn, relfilenode, record_length FROM pg_get_wal_block_info($1::pg_lsn, $2::pg_lsn) WHERE reldatabase = $3) r
       GROUP BY relfilenode`,
      [cursor, end, dbOid]);
    for (const r of rels) byRelfilenode.set(r.rel, (byRelfilenode.get(r.rel) ?? 0) + Number(r.bytes));
    cursor = end;
  };
  let running = true;
  const loop = (async () => {
    while (running) {
      await new Promise((r) => setTimeout(r, 1000));
      if (running) await readUpTo();
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      // Statistics of the last second are flushed by the backends within about a second.
      await new Promise((r) => setTimeout(r, 1500));
      await readUpTo();
      const after = await tableWrites(client, schema);
      const { rows: names } = await client.query<{ rel: string; name: string }>(
        `SELECT pg_relation_filenode(c.oid)::text AS rel, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN ($1, 'pg_toast')`, [schema]);
      await client.end();
      const nameOf = new Map(names.map((r) => [r.rel, r.name]));
      const walBytesByRelation: Record<string, number> = {};
      for (const [rel, bytes] of byRelfilenode) {
        const name = nameOf.get(rel) ?? 'other';
        walBytesByRelation[name] = (walBytesByRelation[name] ?? 0) + bytes;
      }
      const rowWrites: Record<string, number> = {};
      for (const [table, n] of after) if (n - (before.get(table) ?? 0) > 0) rowWrites[table] = n - (before.get(table) ?? 0);
      return { ...total, walBytesByRelation, rowWrites };
    },
  };
}

/** One line per figure, per change. */
export function describeStateCost(cost: StateCost, changes: number): string {
  const per = (n: number) => Math.round((n / changes) * 100) / 100;
  const rows = Object.entries(cost.rowWrites).sort((a, b) => b[1] - a[1]);
  const totalRows = rows.reduce((s, [, n]) => s + n, 0);
  return `state store per change: ${per(cost.walBytes)} WAL bytes (${per(cost.fullPageImageBytes)} of them full-page images), ${per(cost.walRecords)} WAL records, ` +
    `${per(totalRows)} row writes (${rows.map(([t, n]) => `${t} ${per(n)}`).join(', ')}); WAL bytes by relation: ` +
    Object.entries(cost.walBytesByRelation).sort((a, b) => b[1] - a[1]).filter(([, n]) => n / changes >= 1).map(([r, n]) => `${r} ${Math.round(n / changes)}`).join(', ');
}
