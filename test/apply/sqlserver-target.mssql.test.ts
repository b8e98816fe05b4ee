/**
 * SqlTarget against a live SQL Server (knex's `mssql` client). Runs only when
 * TANDEM_TEST_MSSQL_URL is set (e.g. mssql://sa:Passw0rd!@localhost:1433/master);
 * SQL Server cannot run on the CI machine, where sqlserver-dialect.test.ts
 * checks the generated SQL instead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlTarget, type ApplyTask } from '../../src/apply';
import { mssqlPoolConfig } from '../../src/capture/sqlserver';
import { loadMssql } from '../../src/capture/sqlserver/connection';
import { ApplyError, DependencyPendingError } from '../../src/errors';
import type { Mapping } from '../../src/transform';
import { makeTask, MemoryCrosswalk, testMappings, UUID_V5 } from './helpers';

const URL_ENV = 'TANDEM_TEST_MSSQL_URL';
const url = process.env[URL_ENV];
const SYSTEM = 'erp';

describe('SQL Server target live test gate', () => {
  it(url ? `runs against ${URL_ENV}` : `did not run: ${URL_ENV} is not set (SQL Server cannot run here; see sqlserver-dialect.test.ts)`, () => {
    expect(true).toBe(true);
  });
});

const DDL = [
  `CREATE TABLE dbo.customers (cust_no nvarchar(32) PRIMARY KEY, name nvarchar(100), city nvarchar(100), credit decimal(12,2),
     updated_at datetime2(7), rating int DEFAULT 5)`,
  `CREATE TABLE dbo.contacts (id uniqueidentifier PRIMARY KEY, email nvarchar(100) UNIQUE, name nvarchar(100), cust_no nvarchar(32) REFERENCES dbo.customers (cust_no))`,
  `CREATE TABLE dbo.orders (id int IDENTITY PRIMARY KEY, order_no nvarchar(32), cust_no nvarchar(32) REFERENCES dbo.customers (cust_no), total decimal(12,2), placed_at datetimeoffset(7))`,
  `CREATE TABLE dbo.order_lines (id bigint IDENTITY PRIMARY KEY, order_id int NOT NULL REFERENCES dbo.orders (id), sku nvarchar(32), qty decimal(12,3))`,
];

describe.runIf(url)('SqlTarget on SQL Server', () => {
  const mssql = loadMssql();
  const dbName = `tandem_apply_${process.pid}_${Date.now() % 100000}`;
  type Pool = { request(): { query(sql: string): Promise<{ recordset: Record<string, unknown>[] }> }; close(): Promise<void> };
  let admin: Pool;
  let db: Pool;
  let dbUrl: string;
  let mappings: Map<string, Mapping>;
  let target: SqlTarget;
  const crosswalk = new MemoryCrosswalk();

  const ctx = (entity: string) => ({ mapping: mappings.get(entity)!, crosswalk, refMappings: (e: string) => mappings.get(e) });
  const apply = (task: ApplyTask) => target.apply(task, ctx(task.entity));
  const one = async (sql: string) => ({ ...(await db.request().query(sql)).recordset[0] });
  const customer = (key: string, fields: Record<string, string | null>, over: Partial<ApplyTask> = {}) =>
    makeTask({ entity: 'customer', key, fields, record: fields, ...over });

  beforeAll(async () => {
    admin = (await new mssql.ConnectionPool(mssqlPoolConfig(url!)).connect()) as unknown as Pool;
    await admin.request().query(`CREATE DATABASE [${dbName}]`);
    const parsed = new URL(url!.replace(/^[a-z]+:/i, 'http:'));
    parsed.pathname = `/${dbName}`;
    dbUrl = parsed.toString().replace(/^http:/, 'mssql:');
    db = (await new mssql.ConnectionPool(mssqlPoolConfig(dbUrl)).connect()) as unknown as Pool;
    for (const statement of DDL) await db.request().query(statement);
    mappings = testMappings(SYSTEM, 'dbo');
    target = new SqlTarget({ system: SYSTEM, type: 'sqlserver', connectionString: dbUrl, origin: 'tandem', conditional: true, poolSize: 2 });
  }, 120_000);

  afterAll(async () => {
    await target?.close();
    await db?.close();
    if (admin) {
      await admin.request().query(`ALTER DATABASE [${dbName}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [${dbName}]`).catch(() => undefined);
      await admin.close();
    }
  });

  it('inserts by natural key with exact decimals and datetime2, then a redelivery is already-applied', async () => {
    const task = customer('crm:C1', { number: 'C1', name: 'Acme', credit: '100.5', updated_at: '2024-03-01T12:00:00.1234567+02:00' });
    expect(await apply(task)).toEqual({ status: 'applied', localKey: 'C1' });
    expect(await one(`SELECT name, CONVERT(varchar(30), credit) AS credit, CONVERT(varchar(30), updated_at, 126) AS updated_at, rating FROM dbo.customers WHERE cust_no = 'C1'`)).toEqual({
      name: 'Acme', credit: '100.50', updated_at: '2024-03-01T10:00:00.1234567', rating: 5,
    });
    expect(await apply({ ...task, attempts: 1 })).toMatchObject({ localKey: 'C1' });
    expect(await apply(customer('crm:C1', { credit: '100.500' }))).toEqual({ status: 'already-applied', localKey: 'C1' });
  });

  it('updates, and conditionally leaves a concurrently changed field alone', async () => {
    await apply(customer('crm:C2', { number: 'C2', name: 'Old', city: 'X' }));
    await db.request().query(`UPDATE dbo.customers SET city = 'Y' WHERE cust_no = 'C2'`);
    expect(await apply(customer('crm:C2', { name: 'New', city: 'Z' }, { expected: { name: 'Old', city: 'X' } }))).toEqual({ status: 'applied', localKey: 'C2' });
    expect(await one(`SELECT name, city FROM dbo.customers WHERE cust_no = 'C2'`)).toEqual({ name: 'New', city: 'Y' });
  });

  it('uuid keys, database keys through OUTPUT inserted, references and adoption', async () => {
    await apply(customer('crm:C3', { number: 'C3', name: 'Gamma' }));
    const fields = { email: 'ann@example.com', name: 'Ann', customer: 'crm:C3' };
    const contact = await apply(makeTask({ entity: 'contact', key: 'crm:K1', fields, record: fields }));
    expect(contact.localKey).toMatch(UUID_V5);

    const lineFields = { order: 'crm:O1', sku: 'P-1', qty: '2.5' };
    const line = makeTask({ entity: 'order_line', key: 'crm:L1', fields: lineFields, record: lineFields });
    await expect(apply(line)).rejects.toBeInstanceOf(DependencyPendingError);
    const header = { number: 'SO-1', customer: 'crm:C3', total: '12', placed_at: '2024-05-01T10:00:00+02:00' };
    const order = makeTask({ entity: 'sales_order', key: 'crm:O1', fields: header, record: header });
    const placed = await apply(order);
    expect(placed.localKey).toMatch(/^\d+$/);
    expect(await one(`SELECT CONVERT(varchar(40), placed_at, 127) AS placed_at FROM dbo.orders WHERE id = ${placed.localKey}`)).toEqual({ placed_at: '2024-05-01T08:00:00Z' });
    expect((await apply({ ...line, attempts: 1 })).status).toBe('applied');
    crosswalk.forget('sales_order', SYSTEM, 'crm:O1');
    expect(await apply({ ...order, attempts: 1 })).toEqual({ status: 'already-applied', localKey: placed.localKey });
  });

  it('applies a batch, and a constraint violation fails alone and is not retriable', async () => {
    const tasks = ['B1', 'B2', 'B3'].map((n) => customer(`crm:${n}`, { number: n, name: `N${n}`, credit: '1.25' }));
    const dup = makeTask({ entity: 'contact', key: 'crm:K2', fields: { email: 'ann@example.com', name: 'Dup' }, record: { email: 'ann@example.com', name: 'Dup' } });
    const results = await target.applyBatch(tasks, ctx('customer'));
    expect(results.map((r) => r.outcome?.status)).toEqual(['applied', 'applied', 'applied']);
    const error = await apply(dup).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplyError);
    expect((error as ApplyError).retriable).toBe(false);
  });

  it('deletes a known row', async () => {
    await apply(customer('crm:C5', { number: 'C5', name: 'Eps' }));
    expect(await apply(makeTask({ entity: 'customer', key: 'crm:C5', op: 'delete' }))).toEqual({ status: 'deleted', localKey: 'C5' });
    expect(await one(`SELECT count(*) AS n FROM dbo.customers WHERE cust_no = 'C5'`)).toEqual({ n: 0 });
  });
});
