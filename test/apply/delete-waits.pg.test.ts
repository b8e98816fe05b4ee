/**
 * A delete refused by a foreign key (rows still reference the row) waits
 * instead of failing for good: during a merge the referencing rows are being
 * re-pointed by tasks of their own, applied concurrently. Once they have
 * moved, the same delete goes through.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlTarget } from '../../src/apply';
import { DependencyPendingError } from '../../src/errors';
import type { Mapping } from '../../src/transform';
import { createPgDatabase, requireEnv, TEST_ENV, uniqueName, type TestDatabase } from '../support';
import { makeTask, MemoryCrosswalk, testMappings } from './helpers';

describe('SqlTarget: a delete still referenced by other rows waits for them to move', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const mappings = testMappings('erp', 'public');
  const crosswalk = new MemoryCrosswalk();
  let db: TestDatabase;
  let client: pg.Client;
  let target: SqlTarget;

  beforeAll(async () => {
    db = await createPgDatabase('delete_waits', adminUrl);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(`CREATE TABLE customers (cust_no text PRIMARY KEY, name text, city text, credit numeric(12,2), updated_at timestamptz, rating int DEFAULT 5);
      CREATE TABLE orders (id integer PRIMARY KEY, order_no text, cust_no text REFERENCES customers, total numeric(12,2), placed_at timestamptz);
      INSERT INTO customers (cust_no, name) VALUES ('C1', 'loser'), ('C2', 'survivor');
      INSERT INTO orders (id, order_no, cust_no) VALUES (1, 'O1', 'C1');`);
    await crosswalk.link('customer', 'erp', 'C1', 'crm:C1');
    target = new SqlTarget({ system: 'erp', type: 'postgres', connectionString: db.url, origin: uniqueName('dw'), conditional: true, poolSize: 1 });
  });

  afterAll(async () => {
    await target?.close();
    await client?.end();
    await db?.drop();
  });

  it('is retriable (DEPENDENCY_PENDING) while an order points at it, and applied once the order moved', async () => {
    const ctx = { mapping: mappings.get('customer') as Mapping, crosswalk, refMappings: (e: string) => mappings.get(e) };
    const task = makeTask({ entity: 'customer', key: 'crm:C1', op: 'delete' });
    const [first] = await target.applyBatch([task], ctx);
    expect(first!.error).toBeInstanceOf(DependencyPendingError);
    expect((first!.error as DependencyPendingError).retriable).toBe(true);
    expect((await client.query(`SELECT cust_no FROM customers WHERE cust_no = 'C1'`)).rowCount).toBe(1);

    await client.query(`UPDATE orders SET cust_no = 'C2' WHERE cust_no = 'C1'`);
    const [second] = await target.applyBatch([task], ctx);
    expect(second!.outcome).toEqual({ status: 'deleted', localKey: 'C1' });
    expect((await client.query(`SELECT cust_no FROM customers WHERE cust_no = 'C1'`)).rowCount).toBe(0);
  });
});
