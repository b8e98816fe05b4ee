import pg from 'pg';

/**
 * The demo's two systems, shaped like a distributor's: an ERP with its own
 * codes and numbering (customer numbers from a sequence, one-letter order
 * status codes, local wall-clock timestamps) and a CRM with uuids, words and
 * zoned timestamps. The differences are the point: config/demo.yaml bridges
 * them with key crosswalks and converters.
 */

/** Tables the pipeline captures, per system. They get REPLICA IDENTITY FULL. */
export const CAPTURED_TABLES = {
  erp: ['customers', 'items', 'inventory', 'sales_orders', 'sales_order_lines'],
  crm: ['accounts', 'products', 'stock_levels', 'orders', 'order_lines'],
} as const;

export const ERP_SCHEMA = `
CREATE SEQUENCE customer_no_seq;

CREATE TABLE customers (
  customer_no   text PRIMARY KEY DEFAULT 'C' || lpad(nextval('customer_no_seq')::text, 6, '0'),
  name          text NOT NULL,
  email         text,
  phone         text,
  credit_limit  numeric(14,2) NOT NULL DEFAULT 0,
  credit_hold   boolean NOT NULL DEFAULT false,
  payment_terms text NOT NULL DEFAULT 'NET30',
  updated_at    timestamp NOT NULL DEFAULT now()
);

CREATE TABLE items (
  item_no      text PRIMARY KEY,
  description  text NOT NULL,
  uom          text NOT NULL DEFAULT 'EA',
  list_price   numeric(12,4) NOT NULL,
  discontinued boolean NOT NULL DEFAULT false
);

CREATE TABLE warehouses (
  warehouse_code text PRIMARY KEY,
  name           text NOT NULL,
  city           text NOT NULL
);

CREATE TABLE inventory (
  item_no        text NOT NULL REFERENCES items,
  warehouse_code text NOT NULL REFERENCES warehouses,
  on_hand        numeric(12,3) NOT NULL DEFAULT 0,
  allocated      numeric(12,3) NOT NULL DEFAULT 0,
  PRIMARY KEY (item_no, warehouse_code)
);

CREATE TABLE price_lists (
  price_list_code text PRIMARY KEY,
  description     text NOT NULL,
  currency        char(3) NOT NULL DEFAULT 'USD',
  valid_from      date NOT NULL
);

CREATE TABLE price_list_items (
  price_list_code text NOT NULL REFERENCES price_lists,
  item_no         text NOT NULL REFERENCES items,
  unit_price      numeric(12,4) NOT NULL,
  PRIMARY KEY (price_list_code, item_no)
);

-- status: D draft, S submitted, R released, H on hold, P shipped, I invoiced.
-- promised_at is wall-clock time in America/Chicago, as the old ERP stores it.
CREATE TABLE sales_orders (
  order_no    bigserial PRIMARY KEY,
  customer_no text NOT NULL REFERENCES customers,
  order_date  date NOT NULL DEFAULT current_date,
  promised_at timestamp without time zone,
  status      char(1) NOT NULL DEFAULT 'D' CHECK (status IN ('D', 'S', 'R', 'H', 'P', 'I')),
  notes       text
);

CREATE TABLE sales_order_lines (
  order_no   bigint NOT NULL REFERENCES sales_orders,
  line_no    integer NOT NULL,
  item_no    text NOT NULL REFERENCES items,
  qty        numeric(12,3) NOT NULL,
  unit_price numeric(12,4) NOT NULL,
  PRIMARY KEY (order_no, line_no)
);
`;

export const CRM_SCHEMA = `
CREATE TABLE accounts (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_name   text NOT NULL,
  email          text,
  phone          text,
  credit_limit   numeric(14,2),
  on_credit_hold boolean NOT NULL DEFAULT false,
  industry       text,
  owner_rep      text
);

CREATE TABLE contacts (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id uuid NOT NULL REFERENCES accounts,
  first_name text NOT NULL,
  last_name  text NOT NULL,
  email      text,
  title      text
);

CREATE TABLE opportunities (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id  uuid NOT NULL REFERENCES accounts,
  title       text NOT NULL,
  stage       text NOT NULL DEFAULT 'prospect',
  amount      numeric(14,2),
  close_date  date,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  sku        text NOT NULL UNIQUE,
  name       text NOT NULL,
  list_price numeric(12,4),
  active     boolean NOT NULL DEFAULT true
);

CREATE TABLE stock_levels (
  sku       text NOT NULL,
  warehouse text NOT NULL,
  on_hand   numeric(12,3),
  allocated numeric(12,3),
  PRIMARY KEY (sku, warehouse)
);

CREATE TABLE orders (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id  uuid NOT NULL REFERENCES accounts,
  order_date  date,
  promised_at timestamptz,
  status      text NOT NULL DEFAULT 'draft'
              CHECK (status IN ('draft', 'submitted', 'released', 'on_hold', 'shipped', 'invoiced')),
  notes       text
);

CREATE TABLE order_lines (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id   uuid NOT NULL REFERENCES orders,
  line_no    integer NOT NULL,
  sku        text NOT NULL,
  quantity   numeric(12,3) NOT NULL,
  unit_price numeric(12,4),
  UNIQUE (order_id, line_no)
);
`;

/** Per-field conflict detection compares before-images, which only FULL gives for every column. */
function replicaIdentityFull(tables: readonly string[]): string {
  return tables.map((t) => `ALTER TABLE ${t} REPLICA IDENTITY FULL;`).join('\n');
}

export function erpSchemaSql(): string {
  return `${ERP_SCHEMA}\n${replicaIdentityFull(CAPTURED_TABLES.erp)}`;
}

export function crmSchemaSql(): string {
  return `${CRM_SCHEMA}\n${replicaIdentityFull(CAPTURED_TABLES.crm)}`;
}

/** Creates the ERP and CRM tables in two (empty) databases. */
export async function createDemoSchemas(erpUrl: string, crmUrl: string): Promise<void> {
  await runSql(erpUrl, erpSchemaSql());
  await runSql(crmUrl, crmSchemaSql());
}

export async function runSql(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
