import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlTarget, type ApplyTask } from '../../src/apply';
import { ApplyError } from '../../src/errors';
import type { Fields, Mapping } from '../../src/transform';
import { createMysqlDatabase, requireEnv, TEST_ENV, type TestDatabase } from '../support';
import { applyOneByOne, countStatements, settledOf, type Settled } from './batch-helpers';
import { makeTask, MemoryCrosswalk, testMappings } from './helpers';

const SYSTEM = 'erp';

const DDL = [
  `CREATE TABLE customers (cust_no varchar(32) PRIMARY KEY, name varchar(100), city varchar(100), credit decimal(12,2),
     updated_at datetime(6), rating int DEFAULT 5)`,
  `CREATE TABLE contacts (id char(36) PRIMARY KEY, email varchar(100) UNIQUE, name varchar(100), cust_no varchar(32),
     FOREIGN KEY (cust_no) REFERENCES customers (cust_no))`,
  `CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, order_no varchar(32), cust_no varchar(32), total decimal(12,2), placed_at datetime(6),
     FOREIGN KEY (cust_no) REFERENCES customers (cust_no))`,
  `CREATE TABLE order_lines (id bigint AUTO_INCREMENT PRIMARY KEY, order_id int NOT NULL, sku varchar(32), qty decimal(12,3))`,
  `CREATE TABLE writes (id bigint AUTO_INCREMENT PRIMARY KEY, tbl varchar(32), op varchar(8))`,
  `CREATE TRIGGER customers_u AFTER UPDATE ON customers FOR EACH ROW INSERT INTO writes (tbl, op) VALUES ('customers', 'UPDATE')`,
];

interface Side {
  db: TestDatabase;
  conn: mysql.Connection;
  target: SqlTarget;
  crosswalk: MemoryCrosswalk;
  mappings: Map<string, Mapping>;
}

describe('SqlTarget.applyBatch on MySQL/MariaDB', () => {
  const adminUrl = requireEnv(TEST_ENV.mysql);
  let bulk: Side;
  let seq: Side;

  const ctx = (side: Side, entity: string) => ({ mapping: side.mappings.get(entity)!, crosswalk: side.crosswalk, refMappings: (e: string) => side.mappings.get(e) });
  const applySeq = (side: Side) => (task: ApplyTask) => side.target.apply(task, ctx(side, task.entity));
  const rows = async (side: Side, sql: string) => (await side.conn.query<mysql.RowDataPacket[]>(sql))[0].map((r) => ({ ...r }));
  const dump = async (side: Side) => ({
    customers: await rows(side, 'SELECT cust_no, name, city, credit, updated_at, rating FROM customers ORDER BY cust_no'),
    contacts: await rows(side, 'SELECT id, email, name, cust_no FROM contacts ORDER BY id'),
    orders: await rows(side, 'SELECT id, order_no, cust_no, total FROM orders ORDER BY id'),
  });
  const compare = async (tasks: ApplyTask[]) => {
    const batched = (await bulk.target.applyBatch(tasks, ctx(bulk, tasks[0]!.entity))).map(settledOf);
    // The schema (database) names differ: compare messages without them.
    const plain = (settled: Settled[], side: Side) => JSON.parse(JSON.stringify(settled).replaceAll(side.db.name, 'db')) as Settled[];
    expect(plain(batched, bulk)).toEqual(plain(await applyOneByOne(applySeq(seq), tasks), seq));
    expect(await dump(bulk)).toEqual(await dump(seq));
    return batched.map((s) => ('outcome' in s ? s.outcome.status : s.error.type));
  };
  const seed = async (tasks: ApplyTask[]) => {
    for (const side of [bulk, seq]) for (const task of tasks) await applySeq(side)(task);
  };
  const task = (entity: string, key: string, fields: Fields, over: Partial<ApplyTask> = {}) => makeTask({ entity, key, fields, record: fields, ...over });

  beforeAll(async () => {
    const open = async (prefix: string): Promise<Side> => {
      const db = await createMysqlDatabase(prefix, adminUrl);
      const conn = await mysql.createConnection({ uri: db.url, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
      for (const statement of DDL) await conn.query(statement);
      const target = new SqlTarget({ system: SYSTEM, type: 'mysql', connectionString: db.url, origin: 'tandem', conditional: true, poolSize: 2 });
      return { db, conn, target, crosswalk: new MemoryCrosswalk(), mappings: testMappings(SYSTEM, db.name) };
    };
    bulk = await open('batch_my_bulk');
    seq = await open('batch_my_seq');
  });

  afterAll(async () => {
    for (const side of [bulk, seq]) {
      await side?.target.close();
      await side?.conn.end();
      await side?.db.drop();
    }
  });

  it('a mixed batch per entity gives the outcomes and rows of applying its tasks one by one', async () => {
    await seed([
      task('customer', 'crm:C1', { number: 'C1', name: 'One', city: 'Oslo', credit: '10.00' }),
      task('customer', 'crm:C2', { number: 'C2', name: 'Two', city: 'Rome' }),
      task('customer', 'crm:C3', { number: 'C3', name: 'Three', city: 'Pisa' }),
      task('customer', 'crm:C4', { number: 'C4', name: 'Four', city: 'Bonn' }),
      task('contact', 'crm:K1', { email: 'k1@x', name: 'Kay', customer: 'crm:C1' }),
      task('sales_order', 'crm:O1', { number: 'SO-1', customer: 'crm:C1', total: '5' }),
      task('sales_order', 'crm:O4', { number: 'SO-4', customer: 'crm:C2', total: '4' }),
    ]);
    for (const side of [bulk, seq]) {
      side.crosswalk.forget('sales_order', SYSTEM, 'crm:O4');
      await side.conn.query(`UPDATE customers SET city = 'Changed' WHERE cust_no = 'C3'`);
    }
    expect(await compare([
      task('customer', 'crm:C5', { number: 'C5', name: 'Five', updated_at: '2024-03-01T10:00:00Z' }),
      task('customer', 'crm:C1', { name: 'One Ltd', credit: '10.5', updated_at: '2024-03-01T12:00:00+02:00' }, { expected: { name: 'One', credit: '10.00' } }),
      task('customer', 'crm:C2', { city: 'Rome' }, { expected: { city: 'Rome' } }),
      task('customer', 'crm:C3', { city: 'Lyon' }, { expected: { city: 'Pisa' } }),
      makeTask({ entity: 'customer', key: 'crm:C4', op: 'delete' }),
      makeTask({ entity: 'customer', key: 'crm:nobody', op: 'delete' }),
      task('customer', 'crm:C6', { name: 'No key' }),
    ])).toEqual(['applied', 'applied', 'already-applied', 'superseded', 'deleted', 'deleted', 'ApplyError']);
    expect(await compare([
      task('contact', 'crm:K2', { email: 'k2@x', name: 'Bee', customer: 'crm:C1' }),
      task('contact', 'crm:K3', { email: 'k3@x', customer: 'crm:missing' }),
      task('contact', 'crm:K1', { name: 'Kay 2', customer: 'crm:C2' }, { expected: { name: 'Kay', customer: 'crm:C1' } }),
    ])).toEqual(['applied', 'DependencyPendingError', 'applied']);
    expect(await compare([
      task('sales_order', 'crm:O2', { number: 'SO-2', customer: 'crm:C1', total: '1.5' }),
      task('sales_order', 'crm:O1', { total: '6' }),
      task('sales_order', 'crm:O4', { number: 'SO-4', customer: 'crm:C2', total: '4' }, { attempts: 1 }),
      task('sales_order', 'crm:O3', { number: 'SO-3', customer: 'crm:C2', total: '2' }),
    ])).toEqual(['applied', 'applied', 'already-applied', 'applied']);
  });

  it('one row breaking a constraint fails alone; the others are applied', async () => {
    await seed([task('contact', 'crm:T0', { email: 'taken@x', customer: 'crm:C1' })]);
    const tasks = [
      task('contact', 'crm:T1', { email: 'a@x', customer: 'crm:C1' }),
      task('contact', 'crm:T2', { email: 'taken@x', customer: 'crm:C1' }),
      task('contact', 'crm:T3', { email: 'c@x', customer: 'crm:C1' }),
    ];
    const results = await bulk.target.applyBatch(tasks, ctx(bulk, 'contact'));
    expect(results.map((r) => r.outcome?.status)).toEqual(['applied', undefined, 'applied']);
    expect(results[1]!.error).toBeInstanceOf(ApplyError);
    expect((results[1]!.error as ApplyError).retriable).toBe(false);
    expect(await rows(bulk, `SELECT email FROM contacts WHERE email IN ('a@x', 'c@x', 'taken@x') ORDER BY email`)).toEqual([
      { email: 'a@x' }, { email: 'c@x' }, { email: 'taken@x' },
    ]);
  });

  it('writes each changed row once, in one transaction with one locking read', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `W${i}`);
    await bulk.target.applyBatch(keys.map((k) => task('customer', `crm:${k}`, { number: k, name: k })), ctx(bulk, 'customer'));
    const before = Number((await rows(bulk, `SELECT count(*) AS n FROM writes`))[0]!['n']);
    const counter = countStatements(bulk.target);
    const results = await bulk.target.applyBatch(keys.map((k, i) => task('customer', `crm:${k}`, { name: i < 20 ? `${k}!` : k })), ctx(bulk, 'customer'));
    counter.stop();
    expect(results.filter((r) => r.outcome?.status === 'applied')).toHaveLength(20);
    expect(Number((await rows(bulk, `SELECT count(*) AS n FROM writes`))[0]!['n']) - before).toBe(20);
    expect(counter.statements.filter((s) => /for update/i.test(s))).toHaveLength(1);
    expect(counter.statements.filter((s) => /^update/i.test(s.trim()))).toHaveLength(20);
  });
});
