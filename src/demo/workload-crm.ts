import { promisedLocal } from './seed-rows';
import { baseName, CRM_STATUSES, type Op, type WeightedOp } from './workload-ops';

// ---- CRM: sales edits contacts and names, creates orders, and trespasses ---

const contactInfo: Op = async ({ crm, rng, all }) => {
  const id = all.accounts.length ? rng.pick(all.accounts) : undefined;
  if (!id) return false;
  const n = rng.int(1, 99999);
  await crm.query('UPDATE accounts SET email = $1, phone = $2 WHERE id = $3', [
    `buyer.${n}@customer-${n % 97}.example`,
    `+1-${rng.int(200, 989)}-555-${String(rng.int(0, 9999)).padStart(4, '0')}`,
    id,
  ]);
  return true;
};

const accountName: Op = async ({ crm, rng, all }) => {
  const id = all.accounts.length ? rng.pick(all.accounts) : undefined;
  if (!id) return false;
  await crm.query(`UPDATE accounts SET account_name = ${baseName('account_name')} || $1 WHERE id = $2`, [` (crm ${rng.int(1, 9999)})`, id]);
  return true;
};

/** Sales enters an order with its lines in one transaction; the ERP must receive header and lines. */
const newOrder: Op = async ({ crm, rng, all }) => {
  const account = all.accounts.length ? rng.pick(all.accounts) : undefined;
  if (!account || all.items.length === 0) return false;
  const id = rng.uuid();
  const client = await crm.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO orders (id, account_id, order_date, promised_at, status, notes)
       VALUES ($1, $2, current_date, ($3::timestamp AT TIME ZONE 'America/Chicago'), 'submitted', $4)`,
      [id, account, promisedLocal(rng), rng.chance(0.3) ? 'entered by sales' : null],
    );
    const lines = rng.int(1, 4);
    for (let line = 1; line <= lines; line++) {
      const sku = rng.pick(all.items);
      await client.query(
        `INSERT INTO order_lines (id, order_id, line_no, sku, quantity, unit_price)
         VALUES ($1, $2, $3, $4, $5, COALESCE((SELECT list_price FROM products WHERE sku = $4), $6))`,
        // The CRM's copy of the list price; a quoted price when the product has not reached the CRM.
        [rng.uuid(), id, line, sku, `${rng.int(1, 40)}.000`, rng.decimal(1, 100, 4)],
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
  all.crmOrders.push(id);
  return true;
};

const contactEdit: Op = async ({ crm, rng, all }) => {
  const id = all.contacts.length ? rng.pick(all.contacts) : undefined;
  if (!id) return false;
  await crm.query('UPDATE contacts SET title = $1, email = $2 WHERE id = $3', [
    rng.pick(['Buyer', 'Senior Buyer', 'Purchasing Manager', 'Owner']),
    `contact.${rng.int(1, 99999)}@example.com`,
    id,
  ]);
  return true;
};

const opportunityEdit: Op = async ({ crm, rng, all }) => {
  const id = all.opportunities.length ? rng.pick(all.opportunities) : undefined;
  if (!id) return false;
  await crm.query('UPDATE opportunities SET stage = $1, amount = $2, updated_at = now() WHERE id = $3', [
    rng.pick(['prospect', 'qualified', 'proposal', 'won', 'lost']),
    `${rng.int(10, 900) * 100}.00`,
    id,
  ]);
  return true;
};

/** Sales raises a credit limit in the CRM: the ERP owns it, so tandem must reject and revert this. */
const creditLimitConflict: Op = async ({ crm, rng, all }) => {
  const id = all.accounts.length ? rng.pick(all.accounts) : undefined;
  if (!id) return false;
  await crm.query('UPDATE accounts SET credit_limit = $1 WHERE id = $2', [`${rng.int(10, 5000) * 100}.00`, id]);
  return true;
};

/** Sales "releases" an order in the CRM: only the ERP moves the workflow, so this is reverted too. */
const orderStatusConflict: Op = async ({ crm, rng, all }) => {
  const id = all.crmOrders.length ? rng.pick(all.crmOrders) : undefined;
  if (!id) return false;
  await crm.query('UPDATE orders SET status = $1 WHERE id = $2', [rng.pick(CRM_STATUSES), id]);
  return true;
};

const orderNotes: Op = async ({ crm, rng, all }) => {
  const id = all.crmOrders.length ? rng.pick(all.crmOrders) : undefined;
  if (!id) return false;
  await crm.query('UPDATE orders SET notes = $1 WHERE id = $2', [`crm: call ${rng.int(1, 9)} days ahead`, id]);
  return true;
};

export const CRM_OPS: WeightedOp[] = [
  { kind: 'crm.contact_info', weight: 3, run: contactInfo },
  { kind: 'crm.account_name', weight: 2, run: accountName },
  { kind: 'crm.new_order', weight: 2, run: newOrder },
  { kind: 'crm.contact_edit', weight: 2, run: contactEdit },
  { kind: 'crm.opportunity_edit', weight: 2, run: opportunityEdit },
  { kind: 'crm.credit_limit_conflict', weight: 1, run: creditLimitConflict },
  { kind: 'crm.order_status_conflict', weight: 1, run: orderStatusConflict },
  { kind: 'crm.order_notes', weight: 1, run: orderNotes },
];
