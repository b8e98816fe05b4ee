import { Rng } from './random';

/**
 * The demo's initial data as plain rows, per table. Pure: the same seed gives
 * the same rows, which is what makes a demo run reproducible.
 */

export type SeedRow = Record<string, string | number | boolean | null>;

export interface SeedSizes {
  erpCustomers: number;
  crmAccounts: number;
  items: number;
  erpOrders: number;
  crmOrders: number;
}

export const DEFAULT_SIZES: SeedSizes = { erpCustomers: 1200, crmAccounts: 800, items: 500, erpOrders: 300, crmOrders: 100 };

export const WAREHOUSES = [
  { warehouse_code: 'DAL', name: 'Dallas DC', city: 'Dallas' },
  { warehouse_code: 'CHI', name: 'Chicago DC', city: 'Chicago' },
  { warehouse_code: 'ATL', name: 'Atlanta DC', city: 'Atlanta' },
] as const;

/** The moment the seeded data claims to be from. */
const SEEDED_AT = '2025-06-30 17:00:00';

export const ERP_STATUS_CODES = ['D', 'S', 'R', 'H', 'P', 'I'] as const;

export interface SeedTables {
  erp: Record<string, SeedRow[]>;
  crm: Record<string, SeedRow[]>;
}

const FIRST = ['North', 'Lone Star', 'Prairie', 'Gulf', 'Summit', 'River', 'Keystone', 'Pioneer', 'Harbor', 'Cedar', 'Iron', 'Blue Ridge'];
const SECOND = ['Supply', 'Industrial', 'Hardware', 'Builders', 'Plumbing', 'Electric', 'Foods', 'Farm', 'Marine', 'Auto Parts'];
const FORM = ['Inc.', 'LLC', 'Co.', 'Corp.', '& Sons', 'Group'];
const GOODS = ['Hex Bolt', 'Wood Screw', 'PVC Elbow', 'Copper Tee', 'Ball Valve', 'Wire Nut', 'Pipe Clamp', 'Anchor', 'Hinge', 'Gasket'];
const SIZES = ['1/4"', '3/8"', '1/2"', '3/4"', '1"', 'M6', 'M8', 'M10'];
const INDUSTRIES = ['construction', 'agriculture', 'food service', 'marine', 'automotive', 'utilities'];
const REPS = ['avery', 'blake', 'casey', 'devon', 'emery'];
const FIRST_NAMES = ['Ana', 'Ben', 'Chen', 'Dana', 'Eli', 'Fatima', 'Gus', 'Hana', 'Ivan', 'Jo'];
const LAST_NAMES = ['Garcia', 'Smith', 'Nguyen', 'Okafor', 'Kowalski', 'Patel', 'Rossi', 'Schmidt'];

export function customerName(rng: Rng, n: number): string {
  return `${rng.pick(FIRST)} ${rng.pick(SECOND)} ${rng.pick(FORM)} #${n}`;
}

export function emailFor(name: string, n: number): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `purchasing.${n}@${slug.slice(0, 30)}.example`;
}

export function phone(rng: Rng): string {
  return `+1-${rng.int(200, 989)}-555-${String(rng.int(0, 9999)).padStart(4, '0')}`;
}

export function itemNo(n: number): string {
  return `I${String(n).padStart(5, '0')}`;
}

export function customerNo(n: number): string {
  return `C${String(n).padStart(6, '0')}`;
}

/** Hours 8–17 only: a Chicago wall-clock time then always exists exactly once (no DST gap or overlap). */
export function promisedLocal(rng: Rng): string {
  const day = `2025-${String(rng.int(1, 12)).padStart(2, '0')}-${String(rng.int(1, 28)).padStart(2, '0')}`;
  return `${day} ${String(rng.int(8, 17)).padStart(2, '0')}:${rng.pick(['00', '15', '30', '45'])}:00`;
}

export function seedRows(seed: number, sizes: SeedSizes = DEFAULT_SIZES): SeedTables {
  const rng = new Rng(seed);
  const items = itemRows(rng.fork('items'), sizes.items);
  const customers = customerRows(rng.fork('customers'), sizes.erpCustomers);
  const accounts = accountRows(rng.fork('accounts'), sizes.crmAccounts, sizes.erpCustomers);
  const erpOrders = erpOrderRows(rng.fork('erp-orders'), sizes.erpOrders, customers, items);
  const crmOrders = crmOrderRows(rng.fork('crm-orders'), sizes.crmOrders, accounts, items);
  return {
    erp: {
      customers,
      items,
      warehouses: WAREHOUSES.map((w) => ({ ...w })),
      inventory: inventoryRows(rng.fork('inventory'), items),
      price_lists: [
        { price_list_code: 'RETAIL', description: 'Retail', currency: 'USD', valid_from: '2025-01-01' },
        { price_list_code: 'CONTRACT', description: 'Contract customers', currency: 'USD', valid_from: '2025-01-01' },
      ],
      price_list_items: priceListItemRows(rng.fork('prices'), items),
      sales_orders: erpOrders.headers,
      sales_order_lines: erpOrders.lines,
    },
    crm: {
      accounts,
      contacts: contactRows(rng.fork('contacts'), accounts),
      opportunities: opportunityRows(rng.fork('opportunities'), accounts),
      orders: crmOrders.headers,
      order_lines: crmOrders.lines,
    },
  };
}

function itemRows(rng: Rng, count: number): SeedRow[] {
  return range(count).map((i) => ({
    item_no: itemNo(i + 1),
    description: `${rng.pick(GOODS)} ${rng.pick(SIZES)}`,
    uom: rng.pick(['EA', 'BX', 'CS']),
    list_price: rng.decimal(0.25, 250, 4),
    discontinued: rng.chance(0.03),
  }));
}

function customerRows(rng: Rng, count: number): SeedRow[] {
  return range(count).map((i) => {
    const name = customerName(rng, i + 1);
    return {
      customer_no: customerNo(i + 1),
      name,
      email: emailFor(name, i + 1),
      phone: phone(rng),
      credit_limit: rng.decimal(1000, 250000, 0) + '.00',
      credit_hold: rng.chance(0.05),
      payment_terms: rng.pick(['NET30', 'NET45', 'NET60', 'COD']),
      // Fixed, not now(): the same seed must give the same rows.
      updated_at: SEEDED_AT,
    };
  });
}

/** CRM-only accounts (prospects sales won): numbered after the ERP's so names stay unique. */
function accountRows(rng: Rng, count: number, offset: number): SeedRow[] {
  return range(count).map((i) => {
    const name = customerName(rng, offset + i + 1);
    return {
      id: rng.uuid(),
      account_name: name,
      email: emailFor(name, offset + i + 1),
      phone: phone(rng),
      // ERP-owned, but a new record's first value is accepted from the CRM.
      credit_limit: rng.decimal(500, 20000, 0) + '.00',
      on_credit_hold: false,
      industry: rng.pick(INDUSTRIES),
      owner_rep: rng.pick(REPS),
    };
  });
}

function inventoryRows(rng: Rng, items: SeedRow[]): SeedRow[] {
  return items.flatMap((item) =>
    WAREHOUSES.map((w) => ({
      item_no: item.item_no as string,
      warehouse_code: w.warehouse_code,
      on_hand: rng.decimal(0, 5000, 3),
      allocated: rng.decimal(0, 200, 3),
    })),
  );
}

function priceListItemRows(rng: Rng, items: SeedRow[]): SeedRow[] {
  return items.flatMap((item) => [
    { price_list_code: 'RETAIL', item_no: item.item_no as string, unit_price: item.list_price as string },
    { price_list_code: 'CONTRACT', item_no: item.item_no as string, unit_price: rng.decimal(0.2, 200, 4) },
  ]);
}

function erpOrderRows(rng: Rng, count: number, customers: SeedRow[], items: SeedRow[]): { headers: SeedRow[]; lines: SeedRow[] } {
  const headers: SeedRow[] = [];
  const lines: SeedRow[] = [];
  for (let i = 0; i < count; i++) {
    const orderNo = i + 1;
    headers.push({
      order_no: orderNo,
      customer_no: rng.pick(customers).customer_no as string,
      order_date: `2025-${String(rng.int(1, 6)).padStart(2, '0')}-${String(rng.int(1, 28)).padStart(2, '0')}`,
      promised_at: promisedLocal(rng),
      status: rng.pick(ERP_STATUS_CODES),
      notes: rng.chance(0.3) ? `dock ${rng.int(1, 9)}, call ahead` : null,
    });
    for (let line = 1; line <= rng.int(1, 5); line++) {
      const item = rng.pick(items);
      lines.push({ order_no: orderNo, line_no: line, item_no: item.item_no as string, qty: rng.decimal(1, 200, 0) + '.000', unit_price: item.list_price as string });
    }
  }
  return { headers, lines };
}

function crmOrderRows(rng: Rng, count: number, accounts: SeedRow[], items: SeedRow[]): { headers: SeedRow[]; lines: SeedRow[] } {
  const headers: SeedRow[] = [];
  const lines: SeedRow[] = [];
  for (let i = 0; i < count; i++) {
    const id = rng.uuid();
    headers.push({
      id,
      account_id: rng.pick(accounts).id as string,
      order_date: `2025-07-${String(rng.int(1, 28)).padStart(2, '0')}`,
      promised_at: `${promisedLocal(rng).replace(' ', 'T')}-05:00`,
      status: rng.pick(['draft', 'submitted']),
      notes: rng.chance(0.5) ? 'quoted by phone' : null,
    });
    for (let line = 1; line <= rng.int(1, 4); line++) {
      const item = rng.pick(items);
      lines.push({ id: rng.uuid(), order_id: id, line_no: line, sku: item.item_no as string, quantity: rng.decimal(1, 50, 0) + '.000', unit_price: item.list_price as string });
    }
  }
  return { headers, lines };
}

function contactRows(rng: Rng, accounts: SeedRow[]): SeedRow[] {
  return accounts.flatMap((a) =>
    range(rng.int(1, 2)).map(() => ({
      id: rng.uuid(),
      account_id: a.id as string,
      first_name: rng.pick(FIRST_NAMES),
      last_name: rng.pick(LAST_NAMES),
      email: null,
      title: rng.pick(['Buyer', 'Purchasing Manager', 'Owner', 'Accounts Payable']),
    })),
  );
}

function opportunityRows(rng: Rng, accounts: SeedRow[]): SeedRow[] {
  return accounts
    .filter(() => rng.chance(0.4))
    .map((a) => ({
      id: rng.uuid(),
      account_id: a.id as string,
      title: `${rng.pick(GOODS)} program`,
      stage: rng.pick(['prospect', 'qualified', 'proposal']),
      amount: rng.decimal(1000, 90000, 0) + '.00',
      close_date: `2025-${String(rng.int(7, 12)).padStart(2, '0')}-15`,
      updated_at: `${SEEDED_AT}+00`,
    }));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
