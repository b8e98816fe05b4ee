import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type TandemConfig } from '../../src/config';
import { createDemoSchemas } from '../../src/demo/schema';
import { seedDemo } from '../../src/demo/seed';
import { seedRows } from '../../src/demo/seed-rows';
import { checkConvergence, formatVerdict } from '../../src/demo/verdict';
import { runWorkload } from '../../src/demo/workload';
import type { WorkloadRecord } from '../../src/demo/workload-record';
import { connectStateStore, migrateStateStore } from '../../src/store';
import { createPgDatabase, requireEnv, TEST_ENV, type TestDatabase } from '../support';

const SCHEMA = 'tandem';
const ACCOUNT = '11111111-1111-4111-8111-111111111111';
const ORDER = '22222222-2222-4222-8222-222222222222';

function demoConfig(): TandemConfig {
  const env = { TANDEM_STATE_URL: 'x', ERP_DATABASE_URL: 'x', CRM_DATABASE_URL: 'x' };
  return parseConfig(readFileSync('config/demo.yaml', 'utf8'), 'config/demo.yaml', env).config;
}

async function sql(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, params);
  } finally {
    await client.end();
  }
}

async function migrate(url: string, schema: string): Promise<void> {
  const knex = connectStateStore(url, 1);
  try {
    await migrateStateStore(knex, schema);
  } finally {
    await knex.destroy();
  }
}

/** Dump of a table as one hash: equal data, equal hash. */
async function tableHash(url: string, table: string): Promise<string> {
  const { rows } = await sql(url, `SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS h FROM ${table} t`);
  return rows[0].h as string;
}

describe('demo verdict, seed and workload (PostgreSQL)', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const dbs: TestDatabase[] = [];
  const create = async (prefix: string) => {
    const db = await createPgDatabase(prefix, adminUrl);
    dbs.push(db);
    return db;
  };
  afterAll(async () => {
    await Promise.all(dbs.map((db) => db.drop()));
  });

  describe('checkConvergence on hand-made linked rows', () => {
    let erp: TestDatabase;
    let crm: TestDatabase;
    let state: TestDatabase;
    const config = demoConfig();
    const check = (workload?: WorkloadRecord) =>
      checkConvergence({ erpUrl: erp.url, crmUrl: crm.url, stateUrl: state.url, schema: SCHEMA, config, workload });

    beforeAll(async () => {
      [erp, crm, state] = await Promise.all([create('demo_v_erp'), create('demo_v_crm'), create('demo_v_state')]);
      await createDemoSchemas(erp.url, crm.url);
      await migrate(state.url, SCHEMA);
      await sql(erp.url, `INSERT INTO customers (customer_no, name, email, phone, credit_limit, credit_hold)
                          VALUES ('C000001', 'Gulf Supply Inc.', 'buyer@gulf.example', '+1-713-555-0100', 5000, false)`);
      await sql(erp.url, `INSERT INTO sales_orders (order_no, customer_no, order_date, promised_at, status, notes)
                          VALUES (1, 'C000001', '2025-03-09', '2025-03-10 14:00:00', 'R', NULL)`);
      await sql(crm.url, `INSERT INTO accounts (id, account_name, email, phone, credit_limit, on_credit_hold, industry)
                          VALUES ($1, 'Gulf Supply Inc.', 'Buyer@Gulf.example ', '+1-713-555-0100', 5000.00, false, 'marine')`, [ACCOUNT]);
      await sql(crm.url, `INSERT INTO orders (id, account_id, order_date, promised_at, status, notes)
                          VALUES ($1, $2, '2025-03-09', '2025-03-10 19:00:00+00', 'released', NULL)`, [ORDER, ACCOUNT]);
      await sql(state.url, `INSERT INTO ${SCHEMA}.crosswalk (entity, system, local_key, canonical_key) VALUES
                            ('customer', 'erp', 'C000001', 'erp:C000001'), ('customer', 'crm', $1, 'erp:C000001'),
                            ('sales_order', 'erp', '1', 'erp:1'), ('sales_order', 'crm', $2, 'erp:1')`, [ACCOUNT, ORDER]);
      await sql(state.url, `INSERT INTO ${SCHEMA}.records (entity, key, fields, version) VALUES ('customer', 'erp:C000001', $1, 1), ('sales_order', 'erp:1', $2, 1)`, [
        { name: 'Gulf Supply Inc.', email: 'buyer@gulf.example', phone: '+1-713-555-0100', credit_limit: '5000.00', credit_hold: false },
        { customer: 'erp:C000001', order_date: '2025-03-09', promised_at: '2025-03-10T19:00:00Z', status: 'released', notes: null },
      ]);
    });

    it('reports ok when both systems and the canonical record agree', async () => {
      const verdict = await check();
      expect(verdict.examples).toEqual([]);
      expect(verdict.ok).toBe(true);
      expect(verdict.entities.customer).toMatchObject({ records: 1, fieldsCompared: 5, mismatches: 0, missing: 0 });
      expect(verdict.entities.sales_order).toMatchObject({ records: 1, fieldsCompared: 5, mismatches: 0 });
      expect(verdict.entities.product).toMatchObject({ records: 0, mismatches: 0 });
      expect(verdict.conflictsLogged).toBe(0);
      expect(formatVerdict(verdict)).toContain('CONVERGED');
    });

    it('names the entity, key, field and values of a CRM field that differs', async () => {
      await sql(crm.url, `UPDATE accounts SET phone = '+1-999-555-0199' WHERE id = $1`, [ACCOUNT]);
      try {
        const verdict = await check();
        expect(verdict.ok).toBe(false);
        expect(verdict.entities.customer).toMatchObject({ mismatches: 1, missing: 0 });
        expect(verdict.examples).toEqual([
          { entity: 'customer', key: 'erp:C000001', field: 'phone', erp: '+1-713-555-0100', crm: '+1-999-555-0199', canonical: '+1-713-555-0100' },
        ]);
        expect(formatVerdict(verdict)).toContain('customer erp:C000001 phone: erp="+1-713-555-0100" crm="+1-999-555-0199"');
      } finally {
        await sql(crm.url, `UPDATE accounts SET phone = '+1-713-555-0100' WHERE id = $1`, [ACCOUNT]);
      }
    });

    it('compares references through the crosswalk', async () => {
      const other = '33333333-3333-4333-8333-333333333333';
      await sql(crm.url, `INSERT INTO accounts (id, account_name) VALUES ($1, 'Stray')`, [other]);
      await sql(crm.url, `UPDATE orders SET account_id = $1 WHERE id = $2`, [other, ORDER]);
      try {
        const verdict = await check();
        expect(verdict.examples).toContainEqual({
          entity: 'sales_order', key: 'erp:1', field: 'customer', erp: 'erp:C000001', crm: `(unlinked crm customer ${other})`, canonical: 'erp:C000001',
        });
        // The stray account was never linked: it counts as missing.
        expect(verdict.examples).toContainEqual(expect.objectContaining({ entity: 'customer', key: `crm:${other}`, field: '(row)' }));
        expect(verdict.entities.customer?.missing).toBe(1);
      } finally {
        await sql(crm.url, `UPDATE orders SET account_id = $1 WHERE id = $2`, [ACCOUNT, ORDER]);
        await sql(crm.url, `DELETE FROM accounts WHERE id = $1`, [other]);
      }
    });

    it('counts a record without its row in one system as missing', async () => {
      await sql(state.url, `INSERT INTO ${SCHEMA}.records (entity, key, fields, version) VALUES ('product', 'erp:I00001', '{"sku": "I00001"}', 1)`);
      await sql(state.url, `INSERT INTO ${SCHEMA}.crosswalk (entity, system, local_key, canonical_key) VALUES ('product', 'erp', 'I00001', 'erp:I00001')`);
      try {
        const verdict = await check();
        expect(verdict.ok).toBe(false);
        expect(verdict.entities.product?.missing).toBe(2); // neither the ERP item nor a CRM product exists
      } finally {
        await sql(state.url, `DELETE FROM ${SCHEMA}.records WHERE entity = 'product'`);
        await sql(state.url, `DELETE FROM ${SCHEMA}.crosswalk WHERE entity = 'product'`);
      }
    });

    it('fails when an ERP-owned value the ERP wrote last did not hold', async () => {
      const workload: WorkloadRecord = {
        counts: {}, operations: 0, errors: 0, errorSamples: [], elapsedMs: 0,
        lastErpWrites: { customers: { C000001: { credit_limit: '7500.00', credit_hold: false } }, sales_orders: { '1': { status: 'R' } } },
      };
      const verdict = await check(workload);
      expect(verdict.entities.customer?.ownerChecks).toBe(2);
      expect(verdict.entities.sales_order?.ownerChecks).toBe(1);
      expect(verdict.examples).toEqual([
        expect.objectContaining({ entity: 'customer', key: 'erp:C000001', field: 'credit_limit', erp: '5000.00', expected: '7500.00', canonical: '5000.00' }),
      ]);
    });
  });

  describe('seed and workload', () => {
    let erp: TestDatabase;
    let crm: TestDatabase;

    beforeAll(async () => {
      [erp, crm] = await Promise.all([create('demo_s_erp'), create('demo_s_crm')]);
      await createDemoSchemas(erp.url, crm.url);
      const started = Date.now();
      const counts = await seedDemo({ erpUrl: erp.url, crmUrl: crm.url, seed: 7 });
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(counts['erp.customers']! + counts['crm.accounts']!).toBe(2000);
    });

    it('is deterministic: the same seed gives the same rows', async () => {
      expect(seedRows(7)).toEqual(seedRows(7));
      expect(seedRows(7)).not.toEqual(seedRows(8));
      const [erp2, crm2] = await Promise.all([create('demo_s2_erp'), create('demo_s2_crm')]);
      await createDemoSchemas(erp2.url, crm2.url);
      await seedDemo({ erpUrl: erp2.url, crmUrl: crm2.url, seed: 7 });
      for (const table of ['customers', 'items', 'inventory', 'sales_orders', 'sales_order_lines']) {
        expect(await tableHash(erp2.url, table), table).toBe(await tableHash(erp.url, table));
      }
      for (const table of ['accounts', 'contacts', 'opportunities', 'orders', 'order_lines']) {
        expect(await tableHash(crm2.url, table), table).toBe(await tableHash(crm.url, table));
      }
    });

    it('runs 2 s of edits on both sides without errors, and records what the ERP holds', async () => {
      // A few customers linked by hand, so the both-sides name race has pairs to race on.
      const state = await create('demo_s_state');
      await migrate(state.url, SCHEMA);
      const { rows: accounts } = await sql(crm.url, 'SELECT id::text FROM accounts ORDER BY id LIMIT 5');
      for (const [i, a] of accounts.entries()) {
        const no = `C${String(i + 1).padStart(6, '0')}`;
        await sql(state.url, `INSERT INTO ${SCHEMA}.crosswalk VALUES ('customer', 'erp', $1, $3), ('customer', 'crm', $2, $3)`, [no, a.id, `erp:${no}`]);
      }
      const record = await runWorkload({ erpUrl: erp.url, crmUrl: crm.url, seconds: 2, rate: 300, seed: 3, state: { url: state.url, schema: SCHEMA } });
      expect(record.errorSamples).toEqual([]);
      expect(record.errors).toBe(0);
      expect(record.operations).toBeGreaterThan(200);
      for (const kind of ['erp.credit_limit', 'erp.inventory', 'erp.order_status', 'crm.new_order', 'crm.credit_limit_conflict', 'both.name_race']) {
        expect(record.counts[kind] ?? 0, kind).toBeGreaterThan(0);
      }
      await expectErpHolds(erp.url, record);
    });
  });
});

/** Every last value the workload says it wrote is what the ERP holds (no pipeline runs here). */
async function expectErpHolds(erpUrl: string, record: WorkloadRecord): Promise<void> {
  const keyWhere: Record<string, (key: string) => [string, unknown[]]> = {
    customers: (k) => ['customer_no = $1', [k]],
    items: (k) => ['item_no = $1', [k]],
    sales_orders: (k) => ['order_no = $1', [k]],
    inventory: (k) => ['item_no = $1 AND warehouse_code = $2', JSON.parse(k) as unknown[]],
  };
  let checked = 0;
  for (const [table, rows] of Object.entries(record.lastErpWrites)) {
    for (const [key, columns] of Object.entries(rows)) {
      const [where, params] = keyWhere[table]!(key);
      const { rows: found } = await sql(erpUrl, `SELECT * FROM ${table} WHERE ${where}`, params);
      for (const [column, value] of Object.entries(columns)) {
        expect(found[0]?.[column], `${table} ${key} ${column}`).toEqual(value);
        checked += 1;
      }
    }
  }
  expect(checked).toBeGreaterThan(50);
}
