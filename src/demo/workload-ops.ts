import type pg from 'pg';
import type { Rng } from './random';
import type { Recorder } from './workload-record';
import type { KeySets } from './workload-keys';

/** What one edit needs: connections, randomness, the rows it may touch, where to record. */
export interface OpContext {
  erp: pg.Pool;
  crm: pg.Pool;
  rng: Rng;
  /** Every key known, for edits that record nothing. */
  all: KeySets;
  /** This worker's share of the ERP keys (see `shareOf`): ERP-owned writes only touch these. */
  own: Pick<KeySets, 'customers' | 'items' | 'inventory' | 'erpOrders'>;
  rec: Recorder;
}

/** An edit; returns false when it had nothing to edit (no rows of that kind yet). */
export type Op = (ctx: OpContext) => Promise<boolean>;

export interface WeightedOp {
  kind: string;
  weight: number;
  run: Op;
}

/** Status codes the ERP moves an order through; S forks to released or on hold. */
const NEXT_STATUS_SQL = `CASE status WHEN 'D' THEN 'S' WHEN 'S' THEN $2 WHEN 'H' THEN 'R' WHEN 'R' THEN 'P' WHEN 'P' THEN 'I' ELSE status END`;
const CRM_STATUSES = ['draft', 'submitted', 'released', 'on_hold', 'shipped', 'invoiced'];
/** Drops an earlier revision suffix, so names do not grow without end. */
const BASE_NAME = `regexp_replace(%s, ' \\((erp|crm|race)[^)]*\\)$', '')`;

function baseName(column: string): string {
  return BASE_NAME.replace('%s', column);
}

// ---- ERP: the owner of credit, stock, prices and the order workflow --------

const erpCreditLimit: Op = async ({ erp, rng, own, rec }) => {
  const key = own.customers.length ? rng.pick(own.customers) : undefined;
  if (!key) return false;
  const value = `${rng.int(10, 2500) * 100}.00`;
  await erp.query('UPDATE customers SET credit_limit = $1, updated_at = now() WHERE customer_no = $2', [value, key]);
  rec.erpWrote('customers', key, 'credit_limit', value);
  return true;
};

const erpCreditHold: Op = async ({ erp, rng, own, rec }) => {
  const key = own.customers.length ? rng.pick(own.customers) : undefined;
  if (!key) return false;
  const { rows } = await erp.query<{ credit_hold: boolean }>(
    'UPDATE customers SET credit_hold = NOT credit_hold, updated_at = now() WHERE customer_no = $1 RETURNING credit_hold',
    [key],
  );
  if (rows[0]) rec.erpWrote('customers', key, 'credit_hold', rows[0].credit_hold);
  return true;
};

const erpInventory: Op = async ({ erp, rng, own, rec }) => {
  const key = own.inventory.length ? rng.pick(own.inventory) : undefined;
  if (!key) return false;
  const onHand = rng.decimal(0, 5000, 3);
  const allocated = rng.decimal(0, 300, 3);
  await erp.query('UPDATE inventory SET on_hand = $1, allocated = $2 WHERE item_no = $3 AND warehouse_code = $4', [onHand, allocated, key[0], key[1]]);
  const localKey = JSON.stringify(key);
  rec.erpWrote('inventory', localKey, 'on_hand', onHand);
  rec.erpWrote('inventory', localKey, 'allocated', allocated);
  return true;
};

const erpItemPrice: Op = async ({ erp, rng, own, rec }) => {
  const key = own.items.length ? rng.pick(own.items) : undefined;
  if (!key) return false;
  const price = rng.decimal(0.25, 250, 4);
  await erp.query('UPDATE items SET list_price = $1 WHERE item_no = $2', [price, key]);
  rec.erpWrote('items', key, 'list_price', price);
  return true;
};

const erpOrderStatus: Op = async ({ erp, rng, own, rec }) => {
  const key = own.erpOrders.length ? rng.pick(own.erpOrders) : undefined;
  if (!key) return false;
  const { rows } = await erp.query<{ status: string }>(
    `UPDATE sales_orders SET status = ${NEXT_STATUS_SQL} WHERE order_no = $1 RETURNING status`,
    [key, rng.chance(0.8) ? 'R' : 'H'],
  );
  if (rows[0]) rec.erpWrote('sales_orders', key, 'status', rows[0].status);
  return true;
};

const erpOrderNotes: Op = async ({ erp, rng, all }) => {
  const key = all.erpOrders.length ? rng.pick(all.erpOrders) : undefined;
  if (!key) return false;
  await erp.query('UPDATE sales_orders SET notes = $1 WHERE order_no = $2', [`erp: dock ${rng.int(1, 9)}`, key]);
  return true;
};

/** Both systems rename the same customer at once: latest-wins must leave one name on both sides. */
const nameRace: Op = async ({ erp, crm, rng, all }) => {
  const pair = all.customerPairs.length ? rng.pick(all.customerPairs) : undefined;
  if (!pair) return false;
  const tag = rng.int(1, 9999);
  await Promise.all([
    erp.query(`UPDATE customers SET name = ${baseName('name')} || $1, updated_at = now() WHERE customer_no = $2`, [` (race erp ${tag})`, pair[0]]),
    crm.query(`UPDATE accounts SET account_name = ${baseName('account_name')} || $1 WHERE id = $2`, [` (race crm ${tag})`, pair[1]]),
  ]);
  return true;
};

export const ERP_OPS: WeightedOp[] = [
  { kind: 'erp.credit_limit', weight: 3, run: erpCreditLimit },
  { kind: 'erp.credit_hold', weight: 1, run: erpCreditHold },
  { kind: 'erp.inventory', weight: 4, run: erpInventory },
  { kind: 'erp.item_price', weight: 2, run: erpItemPrice },
  { kind: 'erp.order_status', weight: 3, run: erpOrderStatus },
  { kind: 'erp.order_notes', weight: 1, run: erpOrderNotes },
  { kind: 'both.name_race', weight: 1, run: nameRace },
];

export { CRM_STATUSES, baseName };
