import type pg from 'pg';
import type { Rng } from './random';

/**
 * The rows the workload edits, reloaded now and then so it also edits rows
 * that appeared meanwhile (orders sales created, rows tandem copied over).
 */
export interface KeySets {
  customers: string[];
  items: string[];
  inventory: [string, string][];
  erpOrders: string[];
  accounts: string[];
  crmOrders: string[];
  contacts: string[];
  opportunities: string[];
  /** (ERP customer_no, CRM account id) pairs of the same customer, from the crosswalk. */
  customerPairs: [string, string][];
}

export interface KeySources {
  erp: pg.Pool;
  crm: pg.Pool;
  /** The state store, for customer pairs; without it the same-record race is not run. */
  state?: { pool: pg.Pool; schema: string };
}

export async function loadKeys(sources: KeySources): Promise<KeySets> {
  const [customers, items, inventory, erpOrders] = await Promise.all([
    column(sources.erp, 'SELECT customer_no AS k FROM customers ORDER BY 1'),
    column(sources.erp, 'SELECT item_no AS k FROM items ORDER BY 1'),
    pairs(sources.erp, 'SELECT item_no AS a, warehouse_code AS b FROM inventory ORDER BY 1, 2'),
    column(sources.erp, 'SELECT order_no::text AS k FROM sales_orders ORDER BY order_no'),
  ]);
  const [accounts, crmOrders, contacts, opportunities] = await Promise.all([
    column(sources.crm, 'SELECT id::text AS k FROM accounts ORDER BY 1'),
    column(sources.crm, 'SELECT id::text AS k FROM orders ORDER BY 1'),
    column(sources.crm, 'SELECT id::text AS k FROM contacts ORDER BY 1'),
    column(sources.crm, 'SELECT id::text AS k FROM opportunities ORDER BY 1'),
  ]);
  const customerPairs = sources.state ? await crosswalkPairs(sources.state.pool, sources.state.schema) : [];
  return { customers, items, inventory, erpOrders, accounts, crmOrders, contacts, opportunities, customerPairs };
}

async function column(pool: pg.Pool, sql: string): Promise<string[]> {
  const { rows } = await pool.query<{ k: string }>(sql);
  return rows.map((r) => r.k);
}

async function pairs(pool: pg.Pool, sql: string): Promise<[string, string][]> {
  const { rows } = await pool.query<{ a: string; b: string }>(sql);
  return rows.map((r) => [r.a, r.b]);
}

async function crosswalkPairs(pool: pg.Pool, schema: string): Promise<[string, string][]> {
  const s = `"${schema.replace(/"/g, '""')}"`;
  try {
    return await pairs(
      pool,
      `SELECT e.local_key AS a, c.local_key AS b FROM ${s}.crosswalk e
         JOIN ${s}.crosswalk c ON c.entity = e.entity AND c.canonical_key = e.canonical_key
        WHERE e.entity = 'customer' AND e.system = 'erp' AND c.system = 'crm'
        ORDER BY e.local_key LIMIT 2000`,
    );
  } catch {
    return []; // the state store is not migrated yet: no pairs this round
  }
}

/**
 * A stable share of `keys` for worker `worker` of `workers`. ERP-owned values
 * are each written by one worker only, so the order in which the workload
 * sees its writes commit is the order the database committed them, and the
 * "last value written" it records is the one the ERP must end up holding.
 */
export function shareOf<T>(keys: readonly T[], worker: number, workers: number, name: (key: T) => string): T[] {
  return keys.filter((key) => hash(name(key)) % workers === worker);
}

export function pickOr<T>(rng: Rng, items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : rng.pick(items);
}

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
