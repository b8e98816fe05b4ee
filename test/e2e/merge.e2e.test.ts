/**
 * Customer merge through an explicit merge table, MariaDB ERP (binlog) ⇄
 * PostgreSQL CRM. The ERP merges two customers in one transaction: a row in
 * `erp_merges`, the loser's orders re-pointed, the loser deleted. The CRM
 * must end the same way: its orders of the loser on the survivor (one of
 * them booked in the CRM), its lines still on their orders, the loser's account
 * gone, the loser's crosswalk links retired, the merge logged as a decision.
 * An order the CRM books on the loser afterwards lands on the survivor in
 * both systems. A duplicate nobody merged is left alone.
 */
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { connectTo, serverIdFor } from '../capture/mysql/helpers';
import { createMysqlDatabase, createPgDatabase, flushPrefix, requireEnv, TEST_ENV, waitFor, type TestDatabase } from '../support';
import { dropOrigins, exec, freshNames, memoryLogger, sql } from './harness';

const ERP_DDL = [
  `CREATE TABLE customers (cust_no int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, email varchar(100)) ENGINE=InnoDB`,
  `CREATE TABLE orders (order_no int AUTO_INCREMENT PRIMARY KEY, cust_no int NOT NULL, note varchar(100),
     FOREIGN KEY (cust_no) REFERENCES customers (cust_no)) ENGINE=InnoDB`,
  `CREATE TABLE order_lines (order_no int NOT NULL, line_no int NOT NULL, sku varchar(20) NOT NULL, qty decimal(10,2) NOT NULL,
     PRIMARY KEY (order_no, line_no), FOREIGN KEY (order_no) REFERENCES orders (order_no)) ENGINE=InnoDB`,
  `CREATE TABLE erp_merges (id int AUTO_INCREMENT PRIMARY KEY, loser_no int NOT NULL, survivor_no int NOT NULL) ENGINE=InnoDB`,
];

// The CRM does not enforce its account reference: a salesperson can book on an account that is gone.
const CRM_DDL = `
CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), account_name text NOT NULL, email text);
CREATE TABLE orders (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), account_id uuid NOT NULL, note text);
CREATE TABLE order_lines (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), order_id uuid NOT NULL REFERENCES orders, line_no int NOT NULL, sku text NOT NULL, qty numeric(10,2) NOT NULL);
ALTER TABLE accounts REPLICA IDENTITY FULL;
ALTER TABLE orders REPLICA IDENTITY FULL;
ALTER TABLE order_lines REPLICA IDENTITY FULL;
`;

function config(names: ReturnType<typeof freshNames>, db: string, serverId: number): string {
  return `
stateStore: { url: { env: E2E_STATE_URL }, schema: ${names.schema} }
redis: { url: { env: E2E_REDIS_URL }, keyPrefix: "${names.redisPrefix}" }
systems:
  erp:
    type: mysql
    url: { env: E2E_ERP_URL }
    capture: { serverId: ${serverId}, heartbeatMs: 200, maxBatchDelayMs: 10 }
    apply: { origin: ${names.origin}, echoServerId: ${serverId + 1}, poolSize: 2 }
  crm:
    type: postgres
    url: { env: E2E_CRM_URL }
    capture: { slot: ${names.crmSlot}, publication: ${names.crmSlot}, heartbeatMs: 200, maxBatchDelayMs: 10 }
    apply: { origin: ${names.origin}, poolSize: 2 }
entities:
  customer:
    owner: erp
    merge: { table: erp_merges, loser: loser_no, survivor: survivor_no }
  sales_order:
    owner: erp
    fields: { note: { policy: latest-wins } }
    priority: [erp, crm]
  order_line: { owner: erp }
mappings:
  - { system: erp, table: ${db}.customers, entity: customer, key: { columns: [cust_no], generated: database }, fields: { name: name, email: email } }
  - { system: crm, table: public.accounts, entity: customer, key: { columns: [id], generated: uuid }, fields: { name: account_name, email: email } }
  - system: erp
    table: ${db}.orders
    entity: sales_order
    key: { columns: [order_no], generated: database }
    fields: { customer: { column: cust_no, ref: customer }, note: note }
  - system: crm
    table: public.orders
    entity: sales_order
    key: { columns: [id], generated: uuid }
    fields: { customer: { column: account_id, ref: customer }, note: note }
  - system: erp
    table: ${db}.order_lines
    entity: order_line
    key: { columns: [order_no, line_no], generated: none }
    fields: { order: { column: order_no, ref: sales_order }, line_no: line_no, sku: sku, qty: { column: qty, convert: [{ decimal: { scale: 2 } }] } }
  - system: crm
    table: public.order_lines
    entity: order_line
    key: { columns: [id], generated: uuid }
    fields: { order: { column: order_id, ref: sales_order }, line_no: line_no, sku: sku, qty: { column: qty, convert: [{ decimal: { scale: 2 } }] } }
pipeline: { applyPollMs: 20, leaseMs: 5000 }
metrics: { port: 0 }
log: { level: warn }
`;
}

describe('customer merge through the ERP\'s merge table: both sides merged, no orphaned orders or lines', () => {
  const pgAdminUrl = requireEnv(TEST_ENV.pg);
  const redisUrl = requireEnv(TEST_ENV.redis);
  const mysqlAdminUrl = requireEnv(TEST_ENV.mysql);
  const names = freshNames('merge');
  const log = memoryLogger();
  let erp: TestDatabase;
  let crm: TestDatabase;
  let state: TestDatabase;
  let conn: mysql.Connection;
  let pipeline: RunningPipeline | undefined;

  const wait = (what: string, check: () => Promise<boolean>) => waitFor(check, { timeoutMs: 60_000, message: () => `${what}\npipeline log:\n${log.lines.slice(-40).join('\n')}` });
  const erpRows = async (text: string, params: unknown[] = []) => (await conn.query<mysql.RowDataPacket[]>(text, params))[0].map((r) => ({ ...r }));
  const crmIdOf = async (custNo: number) => (await sql(state.url, `SELECT c2.local_key FROM ${names.schema}.crosswalk c1 JOIN ${names.schema}.crosswalk c2
      ON c2.entity = c1.entity AND c2.canonical_key = c1.canonical_key AND c2.system = 'crm' WHERE c1.entity = 'customer' AND c1.system = 'erp' AND c1.local_key = $1`, [String(custNo)]))[0]?.local_key as string | undefined;

  beforeAll(async () => {
    [erp, crm, state] = await Promise.all([createMysqlDatabase('e2e_merge_erp', mysqlAdminUrl), createPgDatabase('e2e_merge_crm', pgAdminUrl), createPgDatabase('e2e_merge_state', pgAdminUrl)]);
    conn = await connectTo(erp.url);
    for (const statement of ERP_DDL) await conn.query(statement);
    await exec(crm.url, CRM_DDL);
    // 1 and 2 are one customer twice (2 gets merged into 1); 3 and 4 are duplicates nobody merges.
    await conn.query(`INSERT INTO customers (cust_no, name, email) VALUES (1, 'Gulf Supply', 'a@gulf.example'), (2, 'Gulf Supply Inc', 'a@gulf.example'),
      (3, 'Cedar Foods', 'c@cedar.example'), (4, 'Cedar Foods', 'c@cedar.example')`);
    await conn.query(`INSERT INTO orders (order_no, cust_no, note) VALUES (10, 1, 'survivor order'), (20, 2, 'loser order a'), (21, 2, 'loser order b'), (40, 4, 'duplicate order')`);
    await conn.query(`INSERT INTO order_lines VALUES (20, 1, 'BOLT', 5), (20, 2, 'NUT', 7), (21, 1, 'HINGE', 1), (10, 1, 'GASKET', 2)`);
    const env = { E2E_STATE_URL: state.url, E2E_ERP_URL: erp.url, E2E_CRM_URL: crm.url, E2E_REDIS_URL: redisUrl };
    pipeline = await startPipeline(parseConfig(config(names, erp.name, serverIdFor()), '/virtual/merge.yaml', env), { env, logger: log.logger });
    await pipeline.drain({ timeoutMs: 60_000 });
  }, 180_000);

  afterAll(async () => {
    await pipeline?.stop();
    await conn?.end();
    await Promise.all([erp?.drop(), crm?.drop(), state?.drop()]);
    await dropOrigins(pgAdminUrl, names.origin);
    await flushPrefix(redisUrl, names.redisPrefix);
  });

  it('merges the CRM the way the ERP merged (orders and their lines on the survivor), and leads later bookings on the loser to the survivor', async () => {
    const [survivorCrm, loserCrm, dupCrm] = [await crmIdOf(1), await crmIdOf(2), await crmIdOf(4)];
    expect(survivorCrm && loserCrm && dupCrm).toBeTruthy();
    // An order the CRM booked on the loser before the merge (the ERP has it too by the time it merges).
    await sql(crm.url, `INSERT INTO orders (id, account_id, note) VALUES ('00000000-0000-4000-8000-000000000001', $1, 'crm-only order')`, [loserCrm]);
    await sql(crm.url, `INSERT INTO order_lines (order_id, line_no, sku, qty) VALUES ('00000000-0000-4000-8000-000000000001', 1, 'CLAMP', 3)`);
    await pipeline!.drain({ timeoutMs: 60_000 });

    await conn.beginTransaction();
    await conn.query('INSERT INTO erp_merges (loser_no, survivor_no) VALUES (2, 1)');
    await conn.query('UPDATE orders SET cust_no = 1 WHERE cust_no = 2');
    await conn.query('DELETE FROM customers WHERE cust_no = 2');
    await conn.commit();
    await wait('the loser\'s account did not leave the CRM', async () => (await sql(crm.url, 'SELECT 1 FROM accounts WHERE id = $1', [loserCrm])).length === 0);
    await pipeline!.drain({ timeoutMs: 60_000 });

    // The CRM: every order that was the loser's (the ERP's two and its own) is the survivor's, lines untouched.
    expect(await sql(crm.url, 'SELECT note FROM orders WHERE account_id = $1 ORDER BY note', [loserCrm])).toEqual([]);
    expect((await sql(crm.url, 'SELECT note FROM orders WHERE account_id = $1 ORDER BY note', [survivorCrm])).map((r) => r.note))
      .toEqual(['crm-only order', 'loser order a', 'loser order b', 'survivor order']);
    expect(await sql(crm.url, 'SELECT l.id FROM order_lines l LEFT JOIN orders o ON o.id = l.order_id LEFT JOIN accounts a ON a.id = o.account_id WHERE a.id IS NULL')).toEqual([]);
    expect(await sql(crm.url, 'SELECT count(*)::int AS n FROM order_lines')).toEqual([{ n: 5 }]);
    // The ERP: the CRM-only order reached it on the survivor.
    expect(await erpRows('SELECT cust_no, note FROM orders ORDER BY order_no')).toEqual(expect.arrayContaining([{ cust_no: 1, note: 'crm-only order' }]));
    expect(await erpRows('SELECT count(*) AS n FROM orders WHERE cust_no = 2')).toEqual([{ n: '0' }]);
    expect(await erpRows('SELECT count(*) AS n FROM order_lines l LEFT JOIN orders o ON o.order_no = l.order_no WHERE o.order_no IS NULL')).toEqual([{ n: '0' }]);

    // The decision is logged, the merge stored, the loser's links retired.
    const logged = await sql(state.url, `SELECT entity, field, system, decision, rule, kept_value FROM ${names.schema}.conflicts WHERE decision = 'merged'`);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ entity: 'customer', field: '(merge)', system: 'erp', decision: 'merged' });
    expect(logged[0]!.rule).toContain('merge table');
    const links = await sql(state.url, `SELECT system, retired_at IS NOT NULL AS retired FROM ${names.schema}.crosswalk WHERE entity = 'customer' AND canonical_key = (SELECT loser_key FROM ${names.schema}.merges)`);
    expect(links.map((l) => l.retired)).toEqual([true, true]);

    // A salesperson books on the merged-away account afterwards: the order lands on the survivor in both systems.
    await sql(crm.url, `INSERT INTO orders (id, account_id, note) VALUES ('00000000-0000-4000-8000-000000000002', $1, 'late booking')`, [loserCrm]);
    await wait('the late booking did not reach the ERP', async () => (await erpRows(`SELECT cust_no FROM orders WHERE note = 'late booking'`)).length === 1);
    await pipeline!.drain({ timeoutMs: 60_000 });
    expect(await erpRows(`SELECT cust_no FROM orders WHERE note = 'late booking'`)).toEqual([{ cust_no: 1 }]);
    expect(await sql(crm.url, `SELECT account_id FROM orders WHERE note = 'late booking'`)).toEqual([{ account_id: survivorCrm }]);

    // The duplicates nobody merged are both still there, with their order.
    expect(await erpRows('SELECT cust_no FROM customers WHERE cust_no IN (3, 4) ORDER BY cust_no')).toEqual([{ cust_no: 3 }, { cust_no: 4 }]);
    expect(await sql(crm.url, 'SELECT note FROM orders WHERE account_id = $1', [dupCrm])).toEqual([{ note: 'duplicate order' }]);
    expect(await sql(state.url, `SELECT count(*)::int AS n FROM ${names.schema}.merges`)).toEqual([{ n: 1 }]);
    expect(await sql(state.url, `SELECT count(*)::int AS n FROM ${names.schema}.dead_letters`)).toEqual([{ n: 0 }]);
  });
});
