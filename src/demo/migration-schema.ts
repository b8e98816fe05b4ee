import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { Rng } from './random';
import { customerName, emailFor } from './seed-rows';

/**
 * The migration scenario's systems: the old ERP on MariaDB (integer customer
 * and order numbers, credit in the customer row), the CRM on PostgreSQL
 * (uuids), and the new cloud ERP behind a REST API (its own ids, a dunning
 * level of its own). config/migration.yaml bridges them.
 */

export const MIGRATION_CONFIG = fileURLToPath(new URL('../../config/migration.yaml', import.meta.url));

const ERP_OLD_SCHEMA = [
  `CREATE TABLE customers (
    customer_no   int AUTO_INCREMENT PRIMARY KEY,
    name          varchar(200) NOT NULL,
    email         varchar(200),
    credit_limit  decimal(14,2),
    payment_terms varchar(10)
  ) ENGINE=InnoDB CHARACTER SET utf8mb4`,
  `CREATE TABLE sales_orders (
    order_no    int AUTO_INCREMENT PRIMARY KEY,
    customer_no int NOT NULL,
    status      varchar(12) NOT NULL DEFAULT 'open',
    notes       varchar(500),
    CONSTRAINT sales_orders_customer FOREIGN KEY (customer_no) REFERENCES customers (customer_no)
  ) ENGINE=InnoDB CHARACTER SET utf8mb4`,
];

const CRM_SCHEMA = `
CREATE TABLE accounts (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_name  text NOT NULL,
  email         text,
  credit_limit  numeric(14,2),
  payment_terms text,
  segment       text
);
CREATE TABLE orders (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id uuid NOT NULL REFERENCES accounts,
  status     text NOT NULL DEFAULT 'open',
  notes      text
);
ALTER TABLE accounts REPLICA IDENTITY FULL;
ALTER TABLE orders REPLICA IDENTITY FULL;
`;

export const PAYMENT_TERMS = ['NET30', 'NET45', 'NET60', 'COD'] as const;
export const ORDER_STATUSES = ['open', 'released', 'shipped', 'invoiced'] as const;

export interface MigrationSizes {
  erpCustomers: number;
  erpOrders: number;
  crmAccounts: number;
  crmOrders: number;
}

export const MIGRATION_SIZES: MigrationSizes = { erpCustomers: 200, erpOrders: 400, crmAccounts: 60, crmOrders: 60 };

/** What the scenario runs against: the MariaDB database of the old ERP, the CRM database, tandem's state store, the REST API. */
export interface MigrationSystems {
  erpOldUrl: string;
  /** The MariaDB database name (also the schema of the old ERP's mapped tables). */
  erpOldDatabase: string;
  crmUrl: string;
  stateUrl: string;
  erpNewUrl: string;
}

/** Creates the old ERP's and the CRM's tables (the REST API needs none). */
export async function createMigrationSchemas(systems: MigrationSystems): Promise<void> {
  const conn = await mysql.createConnection({ uri: systems.erpOldUrl });
  try {
    for (const statement of ERP_OLD_SCHEMA) await conn.query(statement);
  } finally {
    await conn.end();
  }
  const client = new pg.Client({ connectionString: systems.crmUrl });
  await client.connect();
  try {
    await client.query(CRM_SCHEMA);
  } finally {
    await client.end();
  }
}

/** Seeds both databases from `seed`; returns rows inserted per table. */
export async function seedMigration(systems: MigrationSystems, seed: number, sizes: MigrationSizes = MIGRATION_SIZES): Promise<Record<string, number>> {
  const rng = new Rng(seed);
  const conn = await mysql.createConnection({ uri: systems.erpOldUrl });
  try {
    const customers = Array.from({ length: sizes.erpCustomers }, (_, i) => {
      const name = customerName(rng, i + 1);
      return [name, emailFor(name, i + 1), rng.decimal(1000, 90000, 0) + '.00', rng.pick(PAYMENT_TERMS)];
    });
    await conn.query('INSERT INTO customers (name, email, credit_limit, payment_terms) VALUES ?', [customers]);
    const orders = Array.from({ length: sizes.erpOrders }, () => [rng.int(1, sizes.erpCustomers), rng.pick(ORDER_STATUSES), `seeded ${rng.int(1, 9999)}`]);
    await conn.query('INSERT INTO sales_orders (customer_no, status, notes) VALUES ?', [orders]);
  } finally {
    await conn.end();
  }
  const client = new pg.Client({ connectionString: systems.crmUrl });
  await client.connect();
  try {
    const accounts = Array.from({ length: sizes.crmAccounts }, (_, i) => {
      const n = sizes.erpCustomers + i + 1;
      const name = customerName(rng, n);
      return { id: rng.uuid(), name, email: emailFor(name, n), credit: rng.decimal(500, 20000, 0) + '.00', terms: rng.pick(PAYMENT_TERMS) };
    });
    await client.query(
      `INSERT INTO accounts (id, account_name, email, credit_limit, payment_terms, segment)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::numeric[], $5::text[], $6::text[])`,
      [accounts.map((a) => a.id), accounts.map((a) => a.name), accounts.map((a) => a.email), accounts.map((a) => a.credit), accounts.map((a) => a.terms), accounts.map(() => 'prospect')],
    );
    const orders = Array.from({ length: sizes.crmOrders }, () => ({ id: rng.uuid(), account: rng.pick(accounts).id, notes: `from sales ${rng.int(1, 9999)}` }));
    await client.query(
      `INSERT INTO orders (id, account_id, notes) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[])`,
      [orders.map((o) => o.id), orders.map((o) => o.account), orders.map((o) => o.notes)],
    );
  } finally {
    await client.end();
  }
  return { 'erp_old.customers': sizes.erpCustomers, 'erp_old.sales_orders': sizes.erpOrders, 'crm.accounts': sizes.crmAccounts, 'crm.orders': sizes.crmOrders };
}

/** Names that must be unique per run on shared servers (a replication slot, a binlog replica id, a state schema). */
export interface MigrationNames {
  /** The MariaDB database holding the old ERP's tables. */
  erpOldDatabase: string;
  serverId: number;
  echoServerId: number;
  crmSlot: string;
  stateSchema: string;
  origin: string;
}

/**
 * config/migration.yaml with this run's names and cutover time filled in: the
 * file is the configuration a person would copy, and the demo runs exactly
 * it, not a copy of its own.
 */
export function migrationConfigText(names: MigrationNames, cutoverAt: Date, text = readFileSync(MIGRATION_CONFIG, 'utf8')): string {
  const replaced = text
    .replace(/wave1: \{ at: "[^"]*" \}/, `wave1: { at: "${cutoverAt.toISOString()}" }`)
    .replaceAll('table: erp_old.', `table: ${names.erpOldDatabase}.`)
    .replace(/serverId: \d+/, `serverId: ${names.serverId}`)
    .replace(/echoServerId: \d+/, `echoServerId: ${names.echoServerId}`)
    .replaceAll('slot: tandem_crm', `slot: ${names.crmSlot}`)
    .replaceAll('publication: tandem_crm', `publication: ${names.crmSlot}`)
    .replace(/schema: tandem\n/, `schema: ${names.stateSchema}\n`)
    .replaceAll('origin: tandem', `origin: ${names.origin}`);
  if (!replaced.includes(cutoverAt.toISOString())) throw new Error(`${MIGRATION_CONFIG} has no "wave1: { at: … }" cutover to set`);
  return replaced;
}
