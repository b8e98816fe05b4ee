/**
 * Two-way ERP ⇄ CRM sync, in process, on real PostgreSQL (ERP, CRM and state
 * store databases) and Redis: propagation both ways, owned fields holding,
 * latest-wins on a shared field, cross-table order, deletes, echo
 * suppression and dead letters for what cannot be mapped.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { connectStateStore, verifyConflictChain } from '../../src/store';
import { waitFor } from '../support';
import { createWorld, exec, memoryLogger, sql, twoWayConfig, type TwoWayWorld } from './harness';

describe('two-way ERP ⇄ CRM sync (PostgreSQL, Redis)', () => {
  let world: TwoWayWorld;
  let pipeline: RunningPipeline | undefined;
  const log = memoryLogger();
  let schema: string;

  const erp = (text: string, params: unknown[] = []) => sql(world.erp.url, text, params);
  const crm = (text: string, params: unknown[] = []) => sql(world.crm.url, text, params);
  const state = (text: string, params: unknown[] = []) => sql(world.state.url, text, params);
  const drain = async () => {
    try {
      await pipeline!.drain({ timeoutMs: 30_000 });
    } catch (error) {
      throw new Error(`${(error as Error).message}\npipeline log:\n${log.lines.join('\n')}`);
    }
  };
  /** The CRM account linked to an ERP customer, through the crosswalk. */
  const accountOf = async (custNo: string): Promise<string> => {
    const rows = await state(
      `SELECT c.local_key FROM ${schema}.crosswalk e JOIN ${schema}.crosswalk c ON c.entity = e.entity AND c.canonical_key = e.canonical_key AND c.system = 'crm'
        WHERE e.entity = 'customer' AND e.system = 'erp' AND e.local_key = $1`, [custNo]);
    expect(rows, `no crosswalk link for ERP customer ${custNo}`).toHaveLength(1);
    return rows[0]!.local_key as string;
  };
  const newCustomer = async (name: string, email: string | null, credit: string): Promise<{ custNo: string; accountId: string }> => {
    const [row] = await erp('INSERT INTO customers (name, email, credit_limit) VALUES ($1, $2, $3) RETURNING cust_no', [name, email, credit]);
    await drain();
    return { custNo: row!.cust_no as string, accountId: await accountOf(row!.cust_no as string) };
  };

  beforeAll(async () => {
    world = await createWorld('twoway');
    schema = world.names.schema;
    // The ERP publication exists beforehand and also holds a table no mapping covers.
    await exec(world.erp.url, `CREATE PUBLICATION ${world.names.erpSlot} FOR TABLE customers, orders, order_lines, audit_notes`);
    const loaded = parseConfig(twoWayConfig({ names: world.names }), '/virtual/two-way.yaml', world.env);
    pipeline = await startPipeline(loaded, { env: world.env, logger: log.logger, instanceId: 'two-way-test' });
    await drain();
  });

  afterAll(async () => {
    await pipeline?.stop();
    await world?.cleanup();
  });

  it('an ERP insert reaches the CRM, and the generated CRM key is linked in the crosswalk', async () => {
    const { custNo, accountId } = await newCustomer('  Acme Industrial ', 'Sales@Acme.example', '15000.00');
    expect(custNo).toMatch(/^K\d{5}$/);
    expect(accountId).toMatch(/^[0-9a-f-]{36}$/);
    const [account] = await crm('SELECT account_name, email, credit_limit, segment FROM accounts WHERE id = $1', [accountId]);
    expect(account).toEqual({ account_name: 'Acme Industrial', email: 'sales@acme.example', credit_limit: '15000.00', segment: null });
    const links = await state(`SELECT system, local_key, canonical_key FROM ${schema}.crosswalk WHERE entity = 'customer' AND canonical_key = $1 ORDER BY system`, [`erp:${custNo}`]);
    expect(links).toEqual([
      { system: 'crm', local_key: accountId, canonical_key: `erp:${custNo}` },
      { system: 'erp', local_key: custNo, canonical_key: `erp:${custNo}` },
    ]);
  });

  it('a CRM edit of a CRM-owned field (email) reaches the ERP', async () => {
    const { custNo, accountId } = await newCustomer('Beta Foods', 'old@beta.example', '500.00');
    await crm('UPDATE accounts SET email = $1 WHERE id = $2', ['New@Beta.example', accountId]);
    await drain();
    const [customer] = await erp('SELECT name, email, credit_limit FROM customers WHERE cust_no = $1', [custNo]);
    expect(customer).toEqual({ name: 'Beta Foods', email: 'new@beta.example', credit_limit: '500.00' });
    const conflicts = await state(`SELECT count(*)::int AS n FROM ${schema}.conflicts WHERE key = $1`, [`erp:${custNo}`]);
    expect(conflicts[0]!.n).toBe(0);
  });

  it('a CRM edit of the ERP-owned credit limit is refused, undone in the CRM and logged with a valid hash chain', async () => {
    const { custNo, accountId } = await newCustomer('Gamma Tools', null, '2500.00');
    const txid = (await crm(
      `WITH u AS (UPDATE accounts SET credit_limit = 99999.99 WHERE id = $1 RETURNING 1) SELECT txid_current()::text AS txid FROM u`, [accountId]))[0]!.txid as string;
    await drain();
    await waitFor(async () => (await crm('SELECT credit_limit FROM accounts WHERE id = $1', [accountId]))[0]!.credit_limit === '2500.00',
      { timeoutMs: 10_000, message: 'the owner\'s credit limit was not written back to the CRM' });
    expect((await erp('SELECT credit_limit FROM customers WHERE cust_no = $1', [custNo]))[0]!.credit_limit).toBe('2500.00');

    const rows = await state(`SELECT * FROM ${schema}.conflicts WHERE key = $1 AND field = 'credit_limit'`, [`erp:${custNo}`]);
    expect(rows).toHaveLength(1);
    const c = rows[0]!;
    expect(c).toMatchObject({
      entity: 'customer', system: 'crm', source_table: 'public.accounts', rule: 'customer.credit_limit owner=erp',
      decision: 'rejected', corrected: true, attempted: '99999.99', current_value: '2500.00', kept_value: '2500.00',
    });
    expect(c.correlation_id).toMatch(/^crm@/);
    expect(c.correlation_id).toContain(c.position);
    expect(String(c.tx_id)).toBe(txid);
    expect(c.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(c.prev_hash).not.toBe(c.hash);

    const knex = connectStateStore(world.state.url, 1);
    try {
      const verdict = await verifyConflictChain(knex, schema);
      expect(verdict).toMatchObject({ ok: true });
      expect(verdict.rows).toBeGreaterThanOrEqual(1);
    } finally {
      await knex.destroy();
    }
  });

  it('both sides renaming at once converge on the later commit, and the race is logged', async () => {
    const { custNo, accountId } = await newCustomer('Delta Original', null, '100.00');
    // The CRM transaction takes the row first and commits last: its edit is the later commit.
    const crmClient = new pg.Client({ connectionString: world.crm.url });
    await crmClient.connect();
    try {
      await crmClient.query('BEGIN');
      await crmClient.query('UPDATE accounts SET account_name = $1 WHERE id = $2', ['Delta (CRM)', accountId]);
      await erp('UPDATE customers SET name = $1 WHERE cust_no = $2', ['Delta (ERP)', custNo]);
      await new Promise((r) => setTimeout(r, 20));
      await crmClient.query('COMMIT');
    } finally {
      await crmClient.end();
    }
    await drain();
    await waitFor(async () => {
      const [e] = await erp('SELECT name FROM customers WHERE cust_no = $1', [custNo]);
      const [c] = await crm('SELECT account_name FROM accounts WHERE id = $1', [accountId]);
      return e!.name === 'Delta (CRM)' && c!.account_name === 'Delta (CRM)';
    }, { timeoutMs: 10_000, message: 'ERP and CRM did not converge on the later (CRM) name' });
    const conflicts = await state(`SELECT system, rule, decision, attempted, kept_value FROM ${schema}.conflicts WHERE key = $1 AND field = 'name'`, [`erp:${custNo}`]);
    expect(conflicts.length).toBeGreaterThanOrEqual(1);
    expect(conflicts.every((c) => c.rule === 'customer.name latest-wins')).toBe(true);
    expect(conflicts.every((c) => c.kept_value === 'Delta (CRM)')).toBe(true);
  });

  it('an order created in the CRM with lines reaches the ERP, lines referencing the new ERP order number', async () => {
    const { custNo, accountId } = await newCustomer('Epsilon Retail', null, '800.00');
    const client = new pg.Client({ connectionString: world.crm.url });
    await client.connect();
    let orderId: string;
    try {
      await client.query('BEGIN');
      // Lines written before the header's own update in the same transaction, and a second transaction adds a line.
      orderId = (await client.query(`INSERT INTO orders (account_id, status, note) VALUES ($1, 'new', 'rush') RETURNING id`, [accountId])).rows[0].id;
      await client.query(`INSERT INTO order_lines (order_id, line_no, sku, qty) VALUES ($1, 1, 'SKU-1', 2), ($1, 2, 'SKU-2', 3.5)`, [orderId]);
      await client.query('COMMIT');
      await client.query(`INSERT INTO order_lines (order_id, line_no, sku, qty) VALUES ($1, 3, 'SKU-3', 1)`, [orderId]);
    } finally {
      await client.end();
    }
    await drain();
    const orders = await erp('SELECT order_no, cust_no, status, note FROM orders');
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({ cust_no: custNo, status: 'new', note: 'rush' });
    const orderNo = String(orders[0]!.order_no);
    const lines = await erp('SELECT order_no::text AS order_no, line_no, sku, qty FROM order_lines ORDER BY line_no');
    expect(lines).toEqual([
      { order_no: orderNo, line_no: 1, sku: 'SKU-1', qty: '2.00' },
      { order_no: orderNo, line_no: 2, sku: 'SKU-2', qty: '3.50' },
      { order_no: orderNo, line_no: 3, sku: 'SKU-3', qty: '1.00' },
    ]);
    const link = await state(`SELECT local_key FROM ${schema}.crosswalk WHERE entity = 'sales_order' AND system = 'erp' AND canonical_key = $1`, [`crm:${orderId}`]);
    expect(link).toEqual([{ local_key: orderNo }]);
    // No dead tasks on the way: the lines waited for their header.
    const dead = await state(`SELECT count(*)::int AS n FROM ${schema}.outbox WHERE status = 'dead'`);
    expect(dead[0]!.n).toBe(0);
  });

  it('an ERP delete deletes in the CRM', async () => {
    const { custNo, accountId } = await newCustomer('Zeta Gone', null, '1.00');
    await erp('DELETE FROM customers WHERE cust_no = $1', [custNo]);
    await drain();
    expect(await crm('SELECT id FROM accounts WHERE id = $1', [accountId])).toEqual([]);
    const [record] = await state(`SELECT deleted FROM ${schema}.records WHERE entity = 'customer' AND key = $1`, [`erp:${custNo}`]);
    expect(record?.deleted).toBe(true);
  });

  it("tandem's own writes are not sent round again", async () => {
    const { custNo, accountId } = await newCustomer('Eta Echo', 'a@eta.example', '10.00');
    await crm('UPDATE accounts SET email = $1 WHERE id = $2', ['b@eta.example', accountId]);
    await drain();
    // One resolved change per change, none for the echoes of tandem's writes (the journal holds
    // what was resolved; carried-out outbox tasks are gone), and nothing left to apply.
    const resolved = await state(`SELECT system FROM ${schema}.journal WHERE entity = 'customer' AND key = $1 ORDER BY id`, [`erp:${custNo}`]);
    expect(resolved.map((t) => t.system)).toEqual(['erp', 'crm']);
    const open = await state(`SELECT count(*)::int AS n FROM ${schema}.outbox WHERE entity = 'customer' AND key = $1 AND status <> 'done'`, [`erp:${custNo}`]);
    expect(open[0]!.n).toBe(0);
    // Each side was written exactly once by tandem: the insert in the CRM, the email in the ERP.
    const erpWrites = await erp(`SELECT op, by_tandem FROM write_log WHERE tbl = 'customers' AND row_key = $1 ORDER BY id`, [custNo]);
    expect(erpWrites).toEqual([{ op: 'INSERT', by_tandem: false }, { op: 'UPDATE', by_tandem: true }]);
    const crmWrites = await crm(`SELECT op, by_tandem FROM write_log WHERE tbl = 'accounts' AND row_key = $1 ORDER BY id`, [accountId]);
    expect(crmWrites).toEqual([{ op: 'INSERT', by_tandem: true }, { op: 'UPDATE', by_tandem: false }]);

    // Quiescent: nothing more happens on either side for 2 s.
    const count = async () => Number((await erp('SELECT count(*) AS n FROM write_log'))[0]!.n) + Number((await crm('SELECT count(*) AS n FROM write_log'))[0]!.n);
    const before = await count();
    const outboxBefore = (await state(`SELECT count(*)::int AS n FROM ${schema}.outbox`))[0]!.n;
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await count()).toBe(before);
    expect((await state(`SELECT count(*)::int AS n FROM ${schema}.outbox`))[0]!.n).toBe(outboxBefore);
    expect(pipeline!.stats().events.skipped).toBeGreaterThan(0);
  });

  it('an event that cannot be mapped is parked in dead_letters with its context while the pipeline goes on', async () => {
    const { custNo } = await newCustomer('Iota Orders', null, '5.00');
    // 'bogus' is not in the ERP status enum map: the event cannot be turned into a canonical order.
    await erp(`INSERT INTO orders (cust_no, status, note) VALUES ($1, 'bogus', 'parked')`, [custNo]);
    const { accountId } = await newCustomer('Kappa After', null, '3.00');
    expect((await crm('SELECT account_name FROM accounts WHERE id = $1', [accountId]))[0]?.account_name).toBe('Kappa After');
    const letters = await state(`SELECT kind, system, source_table, position, correlation_id, error_code, error, payload, status FROM ${schema}.dead_letters WHERE source_table = 'public.orders'`);
    expect(letters).toHaveLength(1);
    const letter = letters[0]!;
    expect(letter).toMatchObject({ kind: 'event', system: 'erp', error_code: 'VALUE_UNCONVERTIBLE', status: 'open' });
    expect(letter.correlation_id).toBe(`erp@${letter.position}`);
    expect(letter.error).toMatch(/bogus/);
    expect(letter.payload).toMatchObject({ op: 'c', after: { status: 'bogus', note: 'parked' } });
    expect(pipeline!.stats().events.deadLettered).toBeGreaterThanOrEqual(1);
    expect(await crm(`SELECT id FROM orders WHERE note = 'parked'`)).toEqual([]);
  });

  it('a published table no mapping covers does not stop the pipeline', async () => {
    await erp(`INSERT INTO audit_notes (body) VALUES ('not mapped anywhere')`);
    const { accountId } = await newCustomer('Lambda After', null, '3.00');
    expect((await crm('SELECT account_name FROM accounts WHERE id = $1', [accountId]))[0]?.account_name).toBe('Lambda After');
    // Note: pgoutput capture drops published-but-unmapped tables at decode time
    // (change-decoder.ts), so nothing reaches dead_letters for them.
  });
});
