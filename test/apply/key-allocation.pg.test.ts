/**
 * Allocated keys on PostgreSQL, through SqlTarget (single and bulk paths):
 * a sequence with a format and a query (`select next_customer_no()`); the
 * allocation is kept before the insert, so a retry after a crash that lost
 * the crosswalk link finds the row under the same key; and a propagated
 * change for a row its existence owner deleted does not put it back.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlTarget, type KeyAllocations } from '../../src/apply';
import { mappingSpec } from '../../src/config/spec';
import { compileMapping } from '../../src/transform';
import { createPgDatabase, requireEnv, TEST_ENV, uniqueName, type TestDatabase } from '../support';
import { dropOrigins } from '../e2e/harness';
import { makeTask, MemoryCrosswalk } from './helpers';

const DDL = `
  CREATE SEQUENCE cust_seq START 41;
  CREATE TABLE customers (cust_no text PRIMARY KEY, name text NOT NULL);
  CREATE TABLE counters (name text PRIMARY KEY, value int NOT NULL);
  INSERT INTO counters VALUES ('supplier', 7);
  CREATE FUNCTION next_supplier_no() RETURNS text LANGUAGE sql AS $$
    UPDATE counters SET value = value + 1 WHERE name = 'supplier' RETURNING 'S-' || value
  $$;
  CREATE TABLE suppliers (supplier_no text PRIMARY KEY, name text NOT NULL);
`;

class MemoryAllocations implements KeyAllocations {
  readonly keys = new Map<string, string>();
  async get(system: string, entity: string, key: string) {
    return this.keys.get(`${system}|${entity}|${key}`) ?? null;
  }
  async put(system: string, entity: string, key: string, localKey: string) {
    const id = `${system}|${entity}|${key}`;
    if (!this.keys.has(id)) this.keys.set(id, localKey);
    return this.keys.get(id)!;
  }
}

describe('allocated keys on PostgreSQL', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const origin = uniqueName('alloc_origin');
  let db: TestDatabase;
  let client: pg.Client;
  let target: SqlTarget;
  const crosswalk = new MemoryCrosswalk();
  const allocations = new MemoryAllocations();
  const customers = compileMapping(mappingSpec.parse({
    system: 'erp', table: 'public.customers', entity: 'customer',
    key: { columns: ['cust_no'], generated: { sequence: 'cust_seq', format: 'C{00000}' } }, fields: { number: 'cust_no', name: 'name' },
  }));
  const suppliers = compileMapping(mappingSpec.parse({
    system: 'erp', table: 'public.suppliers', entity: 'supplier',
    key: { columns: ['supplier_no'], generated: { sql: 'select next_supplier_no()' } }, fields: { name: 'name' },
  }));
  const ctx = (mapping: typeof customers, ownsExistence = false) => ({ mapping, crosswalk, refMappings: () => undefined, allocations, ownsExistence });
  const rows = async (table: string) => (await client.query(`SELECT * FROM ${table} ORDER BY 1`)).rows;

  beforeAll(async () => {
    db = await createPgDatabase('alloc_pg', adminUrl);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(DDL);
    target = new SqlTarget({ system: 'erp', type: 'postgres', connectionString: db.url, origin, conditional: false, poolSize: 2 });
  });

  afterAll(async () => {
    await target?.close();
    await client?.end();
    await db?.drop();
    await dropOrigins(adminUrl, origin);
  });

  it('a sequence with a format gives each new record its key; a record seen again keeps it', async () => {
    const a = await target.apply(makeTask({ entity: 'customer', key: 'crm:a', fields: { name: 'A' }, record: { name: 'A', number: null } }), ctx(customers));
    expect(a).toEqual({ status: 'applied', localKey: 'C00041' });
    const results = await target.applyBatch([
      makeTask({ entity: 'customer', key: 'crm:b', fields: { name: 'B' }, record: { name: 'B' } }),
      makeTask({ entity: 'customer', key: 'crm:c', fields: { name: 'C' }, record: { name: 'C' } }),
    ], ctx(customers));
    expect(results.map((r) => r.outcome)).toEqual([{ status: 'applied', localKey: 'C00042' }, { status: 'applied', localKey: 'C00043' }]);
    expect(await rows('customers')).toEqual([{ cust_no: 'C00041', name: 'A' }, { cust_no: 'C00042', name: 'B' }, { cust_no: 'C00043', name: 'C' }]);
  });

  it('a retry after a crash that lost the crosswalk link uses the stored key: no second row, no second number', async () => {
    crosswalk.forget('customer', 'erp', 'crm:b');
    const again = await target.apply(makeTask({ entity: 'customer', key: 'crm:b', fields: { name: 'B2' }, record: { name: 'B2' }, attempts: 1 }), ctx(customers));
    expect(again).toEqual({ status: 'applied', localKey: 'C00042' });
    expect(await rows('customers')).toHaveLength(3);
    expect((await client.query(`SELECT last_value FROM cust_seq`)).rows[0].last_value).toBe('43');
  });

  it('a query gives the key (a counter function)', async () => {
    const s = await target.apply(makeTask({ entity: 'supplier', key: 'crm:s', fields: { name: 'Supplies Inc' }, record: { name: 'Supplies Inc' } }), ctx(suppliers));
    expect(s).toEqual({ status: 'applied', localKey: 'S-8' });
    expect(await rows('suppliers')).toEqual([{ supplier_no: 'S-8', name: 'Supplies Inc' }]);
  });

  it('the existence owner’s deleted row is not put back by a propagated change, but is by a correction', async () => {
    await client.query(`DELETE FROM customers WHERE cust_no = 'C00041'`);
    const propagated = await target.apply(makeTask({ entity: 'customer', key: 'crm:a', fields: { name: 'A2' }, record: { name: 'A2' } }), ctx(customers, true));
    expect(propagated).toEqual({ status: 'superseded', localKey: 'C00041', fields: [], goneFromOwner: true });
    expect(await rows(`customers WHERE cust_no = 'C00041'`)).toEqual([]);
    const corrected = await target.apply(makeTask({ entity: 'customer', key: 'crm:a', fields: { name: 'A3' }, record: { name: 'A3' }, reason: 'correct' }), ctx(customers, true));
    expect(corrected).toEqual({ status: 'applied', localKey: 'C00041' });
  });
});
