import mysql from 'mysql2/promise';
import pg from 'pg';
import { sleep } from '../retry';
import { Rng } from './random';
import { ORDER_STATUSES, PAYMENT_TERMS, type MigrationSystems } from './migration-schema';

/**
 * The migration scenario's users, on all three systems at once:
 * - old ERP (MariaDB): renames, credit and payment-terms changes (wave 1: its
 *   own until the cutover, rejected after it), new orders, order status, and
 *   now and then a customer merge (orders re-pointed, duplicate deleted, in
 *   one transaction);
 * - CRM (PostgreSQL): contact edits, renames, credit edits it does not own,
 *   new orders — one of them, right after each merge, for the merged-away
 *   customer, as a salesperson who has not heard of the merge would;
 * - new ERP (REST API): dunning levels, a field of its own that tandem must
 *   leave alone. The API is not captured, so edits of mapped fields there
 *   could not reach the others; the new ERP's users edit only its own field.
 */
export interface MigrationWorkloadOptions {
  systems: MigrationSystems;
  seconds: number;
  /** Edits per second, all systems together. Default 45. */
  rate?: number;
  seed: number;
  signal?: AbortSignal;
  /** State store schema (crosswalk look-ups for the CRM's view of a merged customer). */
  stateSchema: string;
  /** Customer merges made in the old ERP, spread over the run. Default 3. */
  merges?: number;
}

export interface MigrationWorkloadRecord {
  counts: Record<string, number>;
  operations: number;
  errors: number;
  errorSamples: string[];
  /** When (ms) each old-ERP edit of a wave-1 field (credit_limit, payment_terms) had committed. */
  wave1Edits: number[];
  /** Dunning level set through the new ERP's API, by its id (last write wins). */
  dunning: Record<string, number>;
  /** Customer merges made in the old ERP (customer numbers). */
  merges: Array<{ loser: string; survivor: string; crmOrderForLoser: boolean }>;
  elapsedMs: number;
}

interface Keys {
  customers: string[];
  erpOrders: string[];
  accounts: string[];
  crmOrders: string[];
  restCustomers: string[];
}

interface Ctx {
  rng: Rng;
  erp: mysql.Pool;
  crm: pg.Pool;
  state: pg.Pool;
  keys: Keys;
  rec: MigrationWorkloadRecord;
  options: MigrationWorkloadOptions;
}

type Op = (ctx: Ctx) => Promise<void>;
const REFRESH_MS = 2_000;

const ERP_OPS: Array<[number, string, Op]> = [
  [5, 'erp_old.rename', async ({ rng, erp, keys }) => {
    await erp.query('UPDATE customers SET name = ? WHERE customer_no = ?', [`Renamed ${rng.int(1, 99999)} Co.`, rng.pick(keys.customers)]);
  }],
  [6, 'erp_old.credit', async ({ rng, erp, keys, rec }) => {
    const limit = rng.decimal(1000, 90000, 0);
    const [result] = await erp.query<mysql.ResultSetHeader>(
      'UPDATE customers SET credit_limit = ?, payment_terms = ? WHERE customer_no = ? AND (credit_limit IS NULL OR credit_limit <> ?)',
      [limit, rng.pick(PAYMENT_TERMS), rng.pick(keys.customers), limit]);
    // Only a change of the limit is a change the rules judge (and the verdict counts).
    if (result.affectedRows === 1) rec.wave1Edits.push(Date.now());
  }],
  [3, 'erp_old.order_new', async ({ rng, erp, keys }) => {
    await erp.query('INSERT INTO sales_orders (customer_no, status, notes) VALUES (?, ?, ?)', [rng.pick(keys.customers), 'open', `phoned in ${rng.int(1, 9999)}`]);
  }],
  [4, 'erp_old.order_status', async ({ rng, erp, keys }) => {
    await erp.query('UPDATE sales_orders SET status = ?, notes = ? WHERE order_no = ?', [rng.pick(ORDER_STATUSES), `erp note ${rng.int(1, 9999)}`, rng.pick(keys.erpOrders)]);
  }],
];

const CRM_OPS: Array<[number, string, Op]> = [
  [5, 'crm.email', async ({ rng, crm, keys }) => {
    await crm.query('UPDATE accounts SET email = $1 WHERE id = $2', [`buyer.${rng.int(1, 99999)}@example.com`, rng.pick(keys.accounts)]);
  }],
  [2, 'crm.rename', async ({ rng, crm, keys }) => {
    await crm.query('UPDATE accounts SET account_name = $1 WHERE id = $2', [`Sales Name ${rng.int(1, 99999)} LLC`, rng.pick(keys.accounts)]);
  }],
  [1, 'crm.credit_conflict', async ({ rng, crm, keys }) => {
    await crm.query('UPDATE accounts SET credit_limit = $1 WHERE id = $2', [rng.decimal(100, 500, 0), rng.pick(keys.accounts)]);
  }],
  [2, 'crm.order_new', async ({ rng, crm, keys }) => {
    await crm.query('INSERT INTO orders (account_id, notes) VALUES ($1, $2)', [rng.pick(keys.accounts), `crm order ${rng.int(1, 9999)}`]);
  }],
  [3, 'crm.order_notes', async ({ rng, crm, keys }) => {
    await crm.query('UPDATE orders SET notes = $1 WHERE id = $2', [`crm note ${rng.int(1, 9999)}`, rng.pick(keys.crmOrders)]);
  }],
];

const REST_OPS: Array<[number, string, Op]> = [
  [1, 'erp_new.dunning', async ({ rng, keys, rec, options }) => {
    const id = rng.pick(keys.restCustomers);
    const level = rng.int(0, 4);
    const response = await fetch(`${options.systems.erpNewUrl}/customers/${encodeURIComponent(id)}`, {
      method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dunning_level: level }),
    });
    await response.arrayBuffer();
    if (response.status === 404) return; // merged away meanwhile
    if (!response.ok) throw new Error(`PATCH /customers/${id} answered ${response.status}`);
    rec.dunning[id] = level;
  }],
];

export async function runMigrationWorkload(options: MigrationWorkloadOptions): Promise<MigrationWorkloadRecord> {
  const rec: MigrationWorkloadRecord = { counts: {}, operations: 0, errors: 0, errorSamples: [], wave1Edits: [], dunning: {}, merges: [], elapsedMs: 0 };
  const erp = mysql.createPool({ uri: options.systems.erpOldUrl, connectionLimit: 4 });
  const crm = new pg.Pool({ connectionString: options.systems.crmUrl, max: 4 });
  const state = new pg.Pool({ connectionString: options.systems.stateUrl, max: 1 });
  const rng = new Rng(options.seed).fork('migration-workload');
  const started = Date.now();
  const until = started + options.seconds * 1000;
  const running = () => Date.now() < until && !options.signal?.aborted;
  try {
    const ctx: Ctx = { rng, erp, crm, state, keys: await loadKeys(erp, crm, options.systems.erpNewUrl), rec, options };
    const perSystem = (options.rate ?? 45) / 3;
    const refresher = (async () => {
      while (running()) {
        await sleep(REFRESH_MS, options.signal);
        if (running()) ctx.keys = await loadKeys(erp, crm, options.systems.erpNewUrl).catch(() => ctx.keys);
      }
    })();
    await Promise.all([
      worker(ctx, ERP_OPS, perSystem, running, rng.fork('erp')),
      worker(ctx, CRM_OPS, perSystem, running, rng.fork('crm')),
      worker(ctx, REST_OPS, perSystem, running, rng.fork('rest')),
      merger(ctx, options.merges ?? 3, started, until, running),
      refresher,
    ]);
  } finally {
    rec.elapsedMs = Date.now() - started;
    await Promise.all([erp.end(), crm.end(), state.end()]);
  }
  return rec;
}

async function worker(ctx: Ctx, ops: Array<[number, string, Op]>, rate: number, running: () => boolean, rng: Rng): Promise<void> {
  const total = ops.reduce((sum, [w]) => sum + w, 0);
  const gapMs = 1000 / Math.max(rate, 0.1);
  while (running()) {
    let draw = rng.next() * total;
    const [, kind, op] = ops.find(([w]) => (draw -= w) < 0) ?? ops[0]!;
    await attempt(ctx, kind, op);
    await sleep(gapMs, ctx.options.signal);
  }
}

async function attempt(ctx: Ctx, kind: string, op: Op): Promise<void> {
  try {
    await op(ctx);
    ctx.rec.counts[kind] = (ctx.rec.counts[kind] ?? 0) + 1;
    ctx.rec.operations += 1;
  } catch (error) {
    ctx.rec.errors += 1;
    if (ctx.rec.errorSamples.length < 10) ctx.rec.errorSamples.push(`${kind}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** `count` merges at even intervals through the run. */
async function merger(ctx: Ctx, count: number, started: number, until: number, running: () => boolean): Promise<void> {
  for (let i = 1; i <= count; i++) {
    const at = started + ((until - started) * i) / (count + 1);
    await sleep(at - Date.now(), ctx.options.signal);
    if (!running()) return;
    await attempt(ctx, 'erp_old.merge', (c) => mergeCustomers(c));
  }
}

/**
 * Accounting merges a duplicate: its orders move to the customer that stays
 * and the duplicate is deleted, in one transaction. Right after, a
 * salesperson who has not heard of it books an order on the duplicate in the
 * CRM (when the CRM still has it).
 */
async function mergeCustomers(ctx: Ctx): Promise<void> {
  const merged = new Set(ctx.rec.merges.flatMap((m) => [m.loser, m.survivor]));
  const candidates = ctx.keys.customers.filter((k) => !merged.has(k));
  const loser = ctx.rng.pick(candidates);
  const survivor = ctx.rng.pick(candidates.filter((k) => k !== loser));
  const crmLoser = await crmIdOf(ctx, loser);
  const conn = await ctx.erp.getConnection();
  try {
    // A merge is shown by orders moving: the duplicate gets one if it has none.
    await conn.query('INSERT INTO sales_orders (customer_no, status, notes) SELECT ?, ?, ? FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM sales_orders WHERE customer_no = ?)', [loser, 'open', 'before merge', loser]);
    await conn.beginTransaction();
    await conn.query('UPDATE sales_orders SET customer_no = ? WHERE customer_no = ?', [survivor, loser]);
    await conn.query('DELETE FROM customers WHERE customer_no = ?', [loser]);
    await conn.commit();
  } catch (error) {
    await conn.rollback().catch(() => undefined);
    throw error;
  } finally {
    conn.release();
  }
  let crmOrderForLoser = false;
  if (crmLoser) {
    const inserted = await ctx.crm.query('INSERT INTO orders (account_id, notes) SELECT id, $2 FROM accounts WHERE id = $1', [crmLoser, 'booked on the duplicate']);
    crmOrderForLoser = (inserted.rowCount ?? 0) > 0;
  }
  ctx.rec.merges.push({ loser, survivor, crmOrderForLoser });
  ctx.keys.customers = ctx.keys.customers.filter((k) => k !== loser);
}

async function crmIdOf(ctx: Ctx, customerNo: string): Promise<string | null> {
  const schema = pg.escapeIdentifier(ctx.options.stateSchema);
  const { rows } = await ctx.state.query(
    `SELECT c2.local_key FROM ${schema}.crosswalk c1 JOIN ${schema}.crosswalk c2 ON c2.entity = c1.entity AND c2.canonical_key = c1.canonical_key AND c2.system = 'crm'
     WHERE c1.entity = 'customer' AND c1.system = 'erp_old' AND c1.local_key = $1`, [customerNo]);
  return (rows[0]?.local_key as string | undefined) ?? null;
}

async function loadKeys(erp: mysql.Pool, crm: pg.Pool, restUrl: string): Promise<Keys> {
  const [customers] = await erp.query<mysql.RowDataPacket[]>('SELECT customer_no AS k FROM customers');
  const [erpOrders] = await erp.query<mysql.RowDataPacket[]>('SELECT order_no AS k FROM sales_orders');
  const accounts = await crm.query('SELECT id AS k FROM accounts');
  const crmOrders = await crm.query('SELECT id AS k FROM orders');
  const response = await fetch(`${restUrl}/customers`);
  const listed = (await response.json()) as { items?: Array<{ id: string }> };
  const restCustomers = (listed.items ?? []).map((c) => c.id);
  const keys = (rows: Array<{ k: unknown }>) => rows.map((r) => String(r.k));
  const out = { customers: keys(customers as Array<{ k: unknown }>), erpOrders: keys(erpOrders as Array<{ k: unknown }>), accounts: keys(accounts.rows), crmOrders: keys(crmOrders.rows), restCustomers };
  // An empty list would make `pick` throw on every draw: a placeholder that matches no row instead.
  for (const [name, list] of Object.entries(out)) if (list.length === 0) (out as Record<string, string[]>)[name] = name === 'accounts' || name === 'crmOrders' ? ['00000000-0000-0000-0000-000000000000'] : ['0'];
  return out;
}
