/**
 * Shared pieces of the end-to-end tests: a small ERP and CRM of their own
 * (customers ⇄ accounts, orders ⇄ orders, lines ⇄ lines), a config built as
 * YAML text with `{ env: NAME }` secrets, fresh databases / slot names /
 * origin / Redis prefix per test, and the clean-up of all of them.
 */
import { Writable } from 'node:stream';
import pg from 'pg';
import winston from 'winston';
import { createPgDatabase, flushPrefix, redisPrefix, requireEnv, TEST_ENV, uniqueName, waitFor, type TestDatabase } from '../support';

export async function sql<T extends pg.QueryResultRow = Record<string, any>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** Holds `table` locked (ACCESS EXCLUSIVE) from a session of its own until `release()`, which may be called more than once. */
export async function lockTable(url: string, table: string): Promise<{ release(): Promise<void> }> {
  const locker = new pg.Client({ connectionString: url });
  await locker.connect();
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await locker.query('ROLLBACK');
    await locker.end();
  };
  try {
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  } catch (error) {
    await release().catch(() => {});
    throw error;
  }
  return { release };
}

export async function exec(url: string, ...statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const s of statements) await client.query(s);
  } finally {
    await client.end();
  }
}

/**
 * Every INSERT/UPDATE/DELETE on the audited tables is logged in `write_log`
 * (not published) with the key, the new value of the watched column and
 * whether the writer had a replication origin set up (tandem's writes do).
 */
const WRITE_LOG = `
CREATE TABLE write_log (
  id bigserial PRIMARY KEY,
  tbl text NOT NULL,
  op text NOT NULL,
  row_key text,
  new_value text,
  by_tandem boolean NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE FUNCTION log_write() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
BEGIN
  INSERT INTO write_log (tbl, op, row_key, new_value, by_tandem)
  VALUES (TG_TABLE_NAME, TG_OP, r ->> TG_ARGV[0], CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE r ->> TG_ARGV[1] END,
          pg_replication_origin_session_is_setup());
  RETURN NULL;
END $$;
`;

const audit = (table: string, keyColumn: string, valueColumn: string) =>
  `CREATE TRIGGER ${table}_log AFTER INSERT OR UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION log_write('${keyColumn}', '${valueColumn}');`;

export const ERP_DDL = `
CREATE SEQUENCE cust_seq;
CREATE TABLE customers (
  cust_no      text PRIMARY KEY DEFAULT 'K' || lpad(nextval('cust_seq')::text, 5, '0'),
  name         text NOT NULL,
  email        text,
  credit_limit numeric(12,2) NOT NULL DEFAULT 0
);
CREATE TABLE orders (
  order_no bigserial PRIMARY KEY,
  cust_no  text NOT NULL REFERENCES customers,
  status   text NOT NULL DEFAULT 'new',
  note     text
);
CREATE TABLE order_lines (
  order_no bigint NOT NULL REFERENCES orders,
  line_no  integer NOT NULL,
  sku      text NOT NULL,
  qty      numeric(10,2) NOT NULL,
  PRIMARY KEY (order_no, line_no)
);
-- Published but mapped by nothing: its events must be parked, not stop the pipeline.
CREATE TABLE audit_notes (id serial PRIMARY KEY, body text);
ALTER TABLE customers REPLICA IDENTITY FULL;
ALTER TABLE orders REPLICA IDENTITY FULL;
ALTER TABLE order_lines REPLICA IDENTITY FULL;
${WRITE_LOG}
${audit('customers', 'cust_no', 'name')}
${audit('orders', 'order_no', 'note')}
${audit('order_lines', 'order_no', 'qty')}
`;

export const CRM_DDL = `
CREATE TABLE accounts (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_name text NOT NULL,
  email        text,
  credit_limit numeric(12,2),
  segment      text
);
CREATE TABLE orders (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id uuid NOT NULL REFERENCES accounts,
  status     text,
  note       text
);
CREATE TABLE order_lines (
  id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id uuid NOT NULL REFERENCES orders,
  line_no  integer NOT NULL,
  sku      text NOT NULL,
  qty      numeric(10,2) NOT NULL
);
ALTER TABLE accounts REPLICA IDENTITY FULL;
ALTER TABLE orders REPLICA IDENTITY FULL;
ALTER TABLE order_lines REPLICA IDENTITY FULL;
${WRITE_LOG}
${audit('accounts', 'id', 'account_name')}
${audit('orders', 'id', 'note')}
${audit('order_lines', 'id', 'qty')}
`;

export interface Names {
  schema: string;
  origin: string;
  erpSlot: string;
  crmSlot: string;
  redisPrefix: string;
}

export function freshNames(tag: string): Names {
  const slot = uniqueName(`e2e_${tag}`);
  return {
    schema: 'tandem_e2e',
    origin: uniqueName(`o_${tag}`),
    erpSlot: `${slot}_erp`,
    crmSlot: `${slot}_crm`,
    redisPrefix: redisPrefix(`e2e-${tag}`),
  };
}

export interface TwoWayOptions {
  names: Names;
  /** Capture the CRM too (two-way); otherwise CRM is a plain target. */
  captureCrm?: boolean;
  extraPipeline?: string;
  heartbeatMs?: number;
}

/** The two-way ERP ⇄ CRM configuration, as a person would write it. */
export function twoWayConfig({ names, captureCrm = true, extraPipeline = '', heartbeatMs = 200 }: TwoWayOptions): string {
  const crmCapture = captureCrm
    ? `
    capture:
      slot: ${names.crmSlot}
      publication: ${names.crmSlot}
      heartbeatMs: ${heartbeatMs}
      maxBatchDelayMs: 10`
    : '';
  return `
stateStore:
  url: { env: E2E_STATE_URL }
  schema: ${names.schema}
redis:
  url: { env: E2E_REDIS_URL }
  keyPrefix: "${names.redisPrefix}"
systems:
  erp:
    type: postgres
    url: { env: E2E_ERP_URL }
    capture:
      slot: ${names.erpSlot}
      publication: ${names.erpSlot}
      heartbeatMs: ${heartbeatMs}
      maxBatchDelayMs: 10
    apply:
      origin: ${names.origin}
      poolSize: 2
  crm:
    type: postgres
    url: { env: E2E_CRM_URL }${crmCapture}
    apply:
      origin: ${names.origin}
      poolSize: 2
entities:
  customer:
    owner: erp
    fields:
      name: { policy: latest-wins }
      email: { owner: crm }
      credit_limit: { owner: erp }
    priority: [erp, crm]
  sales_order:
    owner: erp
    fields:
      note: { policy: latest-wins }
    priority: [erp, crm]
  order_line:
    owner: erp
mappings:
  - system: erp
    table: public.customers
    entity: customer
    key: { columns: [cust_no], generated: database }
    fields:
      name: { column: name, convert: [trim] }
      email: { column: email, convert: [trim, lower, empty-to-null] }
      credit_limit: { column: credit_limit, convert: [{ decimal: { scale: 2 } }] }
  - system: crm
    table: public.accounts
    entity: customer
    key: { columns: [id], generated: uuid }
    fields:
      name: { column: account_name, convert: [trim] }
      email: { column: email, convert: [trim, lower, empty-to-null] }
      credit_limit: { column: credit_limit, convert: [{ decimal: { scale: 2 } }] }
  - system: erp
    table: public.orders
    entity: sales_order
    key: { columns: [order_no], generated: database }
    fields:
      customer: { column: cust_no, ref: customer }
      status: { column: status, convert: [{ enum: { new: new, rel: released, hold: on_hold } }] }
      note: { column: note, convert: [empty-to-null] }
  - system: crm
    table: public.orders
    entity: sales_order
    key: { columns: [id], generated: uuid }
    fields:
      customer: { column: account_id, ref: customer }
      status: status
      note: { column: note, convert: [empty-to-null] }
  - system: erp
    table: public.order_lines
    entity: order_line
    key: { columns: [order_no, line_no], generated: none }
    fields:
      order: { column: order_no, ref: sales_order }
      line_no: line_no
      sku: sku
      qty: { column: qty, convert: [{ decimal: { scale: 2 } }] }
  - system: crm
    table: public.order_lines
    entity: order_line
    key: { columns: [id], generated: uuid }
    fields:
      order: { column: order_id, ref: sales_order }
      line_no: line_no
      sku: sku
      qty: { column: qty, convert: [{ decimal: { scale: 2 } }] }
pipeline:
  applyPollMs: 20
  applyBatch: 200
  leaseMs: 5000
  maxAttempts: 8
${extraPipeline}
metrics:
  port: 0
log:
  level: warn
`;
}

export interface TwoWayWorld {
  erp: TestDatabase;
  crm: TestDatabase;
  state: TestDatabase;
  redisUrl: string;
  names: Names;
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** Fresh ERP, CRM and state-store databases, with the schemas above. */
export async function createWorld(tag: string, { erpDdl = ERP_DDL, crmDdl = CRM_DDL } = {}): Promise<TwoWayWorld> {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const redisUrl = requireEnv(TEST_ENV.redis);
  const names = freshNames(tag);
  const [erp, crm, state] = await Promise.all([
    createPgDatabase(`e2e_${tag}_erp`, adminUrl),
    createPgDatabase(`e2e_${tag}_crm`, adminUrl),
    createPgDatabase(`e2e_${tag}_state`, adminUrl),
  ]);
  await exec(erp.url, erpDdl);
  await exec(crm.url, crmDdl);
  return {
    erp, crm, state, redisUrl, names,
    env: { E2E_STATE_URL: state.url, E2E_ERP_URL: erp.url, E2E_CRM_URL: crm.url, E2E_REDIS_URL: redisUrl },
    async cleanup() {
      await Promise.all([erp.drop(), crm.drop(), state.drop()]);
      await dropOrigins(adminUrl, names.origin);
      await flushPrefix(redisUrl, names.redisPrefix);
    },
  };
}

/** Drops the replication origins `origin` and `origin:<n>` (they are cluster-wide and would accumulate). */
export async function dropOrigins(adminUrl: string, origin: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await waitFor(async () => {
      const { rows } = await admin.query<{ roname: string }>(
        `SELECT roname FROM pg_replication_origin WHERE roname = $1 OR roname LIKE $1 || ':%'`, [origin]);
      for (const { roname } of rows) await admin.query('SELECT pg_replication_origin_drop($1)', [roname]).catch(() => undefined);
      return rows.length === 0;
    }, { timeoutMs: 20_000, intervalMs: 200, message: `replication origins of ${origin} could not be dropped` });
  } finally {
    await admin.end();
  }
}

/** A logger that keeps warnings and errors in memory (shown when a test fails) instead of on the console. */
export function memoryLogger(): { logger: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _encoding, callback) { lines.push(String(chunk).trim()); callback(); } });
  const logger = winston.createLogger({
    level: 'warn',
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Stream({ stream })],
  });
  return { logger, lines };
}
