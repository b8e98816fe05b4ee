import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlTarget, type ApplyTask } from '../../src/apply';
import { ApplyError, DependencyPendingError } from '../../src/errors';
import type { Mapping } from '../../src/transform';
import { createMysqlDatabase, requireEnv, TEST_ENV, type TestDatabase } from '../support';
import { makeTask, MemoryCrosswalk, testMappings, UUID_V5 } from './helpers';

const SYSTEM = 'erp';

const DDL = [
  `CREATE TABLE customers (cust_no varchar(32) PRIMARY KEY, name varchar(100), city varchar(100), credit decimal(12,2),
     updated_at datetime(6), rating int DEFAULT 5)`,
  `CREATE TABLE contacts (id char(36) PRIMARY KEY, email varchar(100) UNIQUE, name varchar(100), cust_no varchar(32),
     FOREIGN KEY (cust_no) REFERENCES customers (cust_no))`,
  `CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, order_no varchar(32), cust_no varchar(32), total decimal(12,2), placed_at datetime(6),
     FOREIGN KEY (cust_no) REFERENCES customers (cust_no))`,
  `CREATE TABLE order_lines (id bigint AUTO_INCREMENT PRIMARY KEY, order_id int NOT NULL, sku varchar(32), qty decimal(12,3),
     FOREIGN KEY (order_id) REFERENCES orders (id))`,
  // Counts row updates, so "no write" can be checked.
  `CREATE TABLE writes (id bigint AUTO_INCREMENT PRIMARY KEY, tbl varchar(32), op varchar(8))`,
  `CREATE TRIGGER customers_u AFTER UPDATE ON customers FOR EACH ROW INSERT INTO writes (tbl, op) VALUES ('customers', 'UPDATE')`,
];

describe('SqlTarget on MySQL/MariaDB', () => {
  const adminUrl = requireEnv(TEST_ENV.mysql);
  let db: TestDatabase;
  let conn: mysql.Connection;
  let mappings: Map<string, Mapping>;
  let target: SqlTarget;
  const crosswalk = new MemoryCrosswalk();

  const ctx = (entity: string) => ({ mapping: mappings.get(entity)!, crosswalk, refMappings: (e: string) => mappings.get(e) });
  const apply = (task: ApplyTask) => target.apply(task, ctx(task.entity));
  const one = async (sql: string, params: unknown[] = []) => {
    const [rows] = await conn.query<mysql.RowDataPacket[]>(sql, params);
    return { ...rows[0] } as Record<string, unknown>;
  };
  const count = async (sql: string) => Number((await one(sql)).n);
  const updates = async () => Number((await one(`SELECT count(*) AS n FROM writes WHERE op = 'UPDATE'`)).n);
  const customer = (key: string, fields: Record<string, string | null>, over: Partial<ApplyTask> = {}) =>
    makeTask({ entity: 'customer', key, fields, record: fields, ...over });

  beforeAll(async () => {
    db = await createMysqlDatabase('apply_my', adminUrl);
    conn = await mysql.createConnection({ uri: db.url, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
    for (const statement of DDL) await conn.query(statement);
    mappings = testMappings(SYSTEM, db.name);
    target = new SqlTarget({ system: SYSTEM, type: 'mysql', connectionString: db.url, origin: 'tandem', conditional: true, poolSize: 2 });
  });

  afterAll(async () => {
    await target?.close();
    await conn?.end();
    await db?.drop();
  });

  it('inserts by natural key, then a redelivery is already-applied with no write', async () => {
    const task = customer('crm:C1', { number: 'C1', name: 'Acme', credit: '100.5', updated_at: '2024-03-01T10:00:00Z' });
    expect(await apply(task)).toEqual({ status: 'applied', localKey: 'C1' });
    expect(await one(`SELECT name, credit, updated_at, rating FROM customers WHERE cust_no = 'C1'`)).toEqual({
      name: 'Acme', credit: '100.50', updated_at: '2024-03-01 10:00:00.000000', rating: 5,
    });
    const before = await updates();
    expect(await apply({ ...task, attempts: 1 })).toEqual({ status: 'already-applied', localKey: 'C1' });
    const same = customer('crm:C1', { credit: '100.500', updated_at: '2024-03-01T11:00:00+01:00' });
    expect(await apply(same)).toEqual({ status: 'already-applied', localKey: 'C1' });
    expect(await updates()).toBe(before);
  });

  it('updates, and conditionally leaves a concurrently changed field alone', async () => {
    await apply(customer('crm:C2', { number: 'C2', name: 'Old', city: 'X' }));
    await conn.query(`UPDATE customers SET city = 'Y' WHERE cust_no = 'C2'`);
    const task = customer('crm:C2', { name: 'New', city: 'Z' }, { expected: { name: 'Old', city: 'X' } });
    expect(await apply(task)).toEqual({ status: 'applied', localKey: 'C2' });
    expect(await one(`SELECT name, city FROM customers WHERE cust_no = 'C2'`)).toEqual({ name: 'New', city: 'Y' });
    const onlyCity = customer('crm:C2', { city: 'Z' }, { expected: { city: 'X' } });
    expect(await apply(onlyCity)).toEqual({ status: 'superseded', localKey: 'C2', fields: ['city'] });
    expect(await apply(customer('crm:C2', { city: 'W' }, { expected: { city: 'Y' } }))).toEqual({ status: 'applied', localKey: 'C2' });
    expect(await one(`SELECT city FROM customers WHERE cust_no = 'C2'`)).toEqual({ city: 'W' });
  });

  it('inserts with a deterministic UUID that a retry finds again', async () => {
    await apply(customer('crm:C3', { number: 'C3', name: 'Gamma' }));
    const fields = { email: 'ann@example.com', name: 'Ann', customer: 'crm:C3' };
    const task = makeTask({ entity: 'contact', key: 'crm:K1', fields, record: fields });
    const first = await apply(task);
    expect(first.localKey).toMatch(UUID_V5);
    crosswalk.forget('contact', SYSTEM, 'crm:K1');
    expect(await apply({ ...task, attempts: 1 })).toEqual({ status: 'already-applied', localKey: first.localKey });
    expect(await count(`SELECT count(*) AS n FROM contacts`)).toBe(1);
  });

  it('database keys: RETURNING, header before line, adoption on retry', async () => {
    const lineFields = { order: 'crm:O1', sku: 'P-1', qty: '2.5' };
    const line = makeTask({ entity: 'order_line', key: 'crm:L1', fields: lineFields, record: lineFields });
    await expect(apply(line)).rejects.toBeInstanceOf(DependencyPendingError);

    await apply(customer('crm:C4', { number: 'C4', name: 'Delta' }));
    const header = { number: 'SO-1', customer: 'crm:C4', total: '12', placed_at: '2024-05-01T10:00:00+02:00' };
    const order = makeTask({ entity: 'sales_order', key: 'crm:O1', fields: header, record: header });
    const placed = await apply(order);
    expect(placed.status).toBe('applied');
    expect(placed.localKey).toMatch(/^\d+$/);
    expect(await one('SELECT placed_at FROM orders WHERE id = ?', [placed.localKey])).toEqual({ placed_at: '2024-05-01 08:00:00.000000' });

    const applied = await apply({ ...line, attempts: 1 });
    expect(applied.status).toBe('applied');
    expect(await one('SELECT order_id, qty FROM order_lines WHERE id = ?', [applied.localKey])).toEqual({
      order_id: Number(placed.localKey), qty: '2.500',
    });

    crosswalk.forget('sales_order', SYSTEM, 'crm:O1'); // crash between insert and link
    const retried = await apply({ ...order, attempts: 1 });
    expect(retried).toEqual({ status: 'already-applied', localKey: placed.localKey });
    expect(await count(`SELECT count(*) AS n FROM orders`)).toBe(1);
  });

  it('deletes a known row', async () => {
    await apply(customer('crm:C5', { number: 'C5', name: 'Eps' }));
    expect(await apply(makeTask({ entity: 'customer', key: 'crm:C5', op: 'delete' }))).toEqual({ status: 'deleted', localKey: 'C5' });
    expect(await count(`SELECT count(*) AS n FROM customers WHERE cust_no = 'C5'`)).toBe(0);
  });

  it('a duplicate key is not retriable; a refused connection is', async () => {
    await apply(customer('crm:C6', { number: 'C6', name: 'Zeta' }));
    const dup = { email: 'dup@example.com', customer: 'crm:C6' };
    await apply(makeTask({ entity: 'contact', key: 'crm:K2', fields: dup, record: dup }));
    const task = makeTask({ entity: 'contact', key: 'crm:K3', fields: dup, record: dup });
    const error = await apply(task).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplyError);
    expect((error as ApplyError).retriable).toBe(false);
    expect((error as Error).message).toContain('ER_DUP_ENTRY');
    expect((error as Error).message).toContain(task.correlationId);

    const url = new URL(db.url);
    url.port = '1';
    const down = new SqlTarget({ system: SYSTEM, type: 'mysql', connectionString: url.toString(), origin: 'tandem', conditional: true, poolSize: 1 });
    try {
      const refused = await down.apply(customer('crm:D1', { number: 'D1' }), ctx('customer')).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ApplyError);
      expect((refused as ApplyError).retriable).toBe(true);
    } finally {
      await down.close();
    }
  });
});
