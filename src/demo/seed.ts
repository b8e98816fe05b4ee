import pg from 'pg';
import { DEFAULT_SIZES, seedRows, type SeedRow, type SeedSizes } from './seed-rows';

export interface SeedOptions {
  erpUrl: string;
  crmUrl: string;
  seed: number;
  sizes?: Partial<SeedSizes>;
}

/** Rows inserted per table, `erp.customers` style. */
export type SeedCounts = Record<string, number>;

/** Parent tables first: inserts must satisfy foreign keys. */
const ERP_ORDER = ['customers', 'items', 'warehouses', 'inventory', 'price_lists', 'price_list_items', 'sales_orders', 'sales_order_lines'];
const CRM_ORDER = ['accounts', 'contacts', 'opportunities', 'orders', 'order_lines'];

/**
 * Fills the demo databases. Customers are split between ERP-only and CRM-only
 * origin (no row exists in both), so it is the pipeline's initial snapshot
 * that must carry each side's rows to the other.
 */
export async function seedDemo(options: SeedOptions): Promise<SeedCounts> {
  const tables = seedRows(options.seed, { ...DEFAULT_SIZES, ...options.sizes });
  const counts: SeedCounts = {};
  await withClient(options.erpUrl, async (client) => {
    await insertAll(client, 'erp', ERP_ORDER, tables.erp, counts);
    // Seeded rows carry explicit numbers; move the generators past them so
    // rows made later (by the ERP or by tandem) get fresh ones.
    await client.query(`SELECT setval('customer_no_seq', GREATEST((SELECT count(*) FROM customers), 1))`);
    await client.query(`SELECT setval(pg_get_serial_sequence('sales_orders', 'order_no'), GREATEST((SELECT max(order_no) FROM sales_orders), 1))`);
  });
  await withClient(options.crmUrl, (client) => insertAll(client, 'crm', CRM_ORDER, tables.crm, counts));
  return counts;
}

async function insertAll(client: pg.Client, system: string, order: string[], tables: Record<string, SeedRow[]>, counts: SeedCounts): Promise<void> {
  await client.query('BEGIN');
  for (const table of order) {
    const rows = tables[table] ?? [];
    await insertRows(client, table, rows);
    counts[`${system}.${table}`] = rows.length;
  }
  await client.query('COMMIT');
}

/** Multi-row INSERTs in chunks that stay under PostgreSQL's 65,535 bind parameters. */
export async function insertRows(client: pg.ClientBase, table: string, rows: SeedRow[]): Promise<void> {
  const first = rows[0];
  if (!first) return;
  const columns = Object.keys(first);
  const perChunk = Math.max(1, Math.floor(60_000 / columns.length));
  for (let start = 0; start < rows.length; start += perChunk) {
    const chunk = rows.slice(start, start + perChunk);
    const params: unknown[] = [];
    const tuples = chunk.map((row) => `(${columns.map((c) => `$${params.push(row[c] ?? null)}`).join(', ')})`);
    const names = columns.map((c) => client.escapeIdentifier(c)).join(', ');
    await client.query(`INSERT INTO ${client.escapeIdentifier(table)} (${names}) VALUES ${tuples.join(', ')}`, params);
  }
}

export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
