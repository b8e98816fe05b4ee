/**
 * PostgreSQL source → MariaDB target through the whole pipeline (state store
 * on PostgreSQL, dedup in Redis): every value type arrives with exactly the
 * same value, and updates and deletes apply.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { createMysqlDatabase, createPgDatabase, flushPrefix, requireEnv, TEST_ENV, type TestDatabase } from '../support';
import { dropOrigins, exec, freshNames, memoryLogger, sql } from './harness';

const PG_DDL = `
CREATE TABLE items (
  item_no   text PRIMARY KEY,
  title     text,
  price     numeric(18,4),
  ship_date date,
  updated   timestamptz,
  active    boolean,
  attrs     jsonb,
  note      text
);
ALTER TABLE items REPLICA IDENTITY FULL;
`;

const MY_DDL = `CREATE TABLE items (
  item_no   varchar(40) PRIMARY KEY,
  title     varchar(200),
  price     decimal(18,4),
  ship_date date,
  updated   datetime(6),
  active    boolean,
  attrs     json,
  note      text
) CHARACTER SET utf8mb4`;

function config(names: ReturnType<typeof freshNames>, mysqlDb: string): string {
  const fields = `
      sku: item_no
      title: title
      price: { column: price, convert: [{ decimal: { scale: 4 } }] }
      ship_date: ship_date
      updated: updated
      active: active
      attrs: attrs
      note: note`;
  return `
stateStore: { url: { env: E2E_STATE_URL }, schema: ${names.schema} }
redis: { url: { env: E2E_REDIS_URL }, keyPrefix: "${names.redisPrefix}" }
systems:
  erp:
    type: postgres
    url: { env: E2E_ERP_URL }
    capture: { slot: ${names.erpSlot}, publication: ${names.erpSlot}, heartbeatMs: 200, maxBatchDelayMs: 10 }
    apply: { origin: ${names.origin}, poolSize: 1 }
  shop:
    type: mysql
    url: { env: E2E_SHOP_URL }
    apply: { poolSize: 2 }
entities:
  product: { owner: erp }
mappings:
  - system: erp
    table: public.items
    entity: product
    key: { columns: [item_no] }
    fields:${fields}
  - system: shop
    table: ${mysqlDb}.items
    entity: product
    key: { columns: [item_no] }
    fields:${fields}
pipeline: { applyPollMs: 20, leaseMs: 5000 }
metrics: { port: 0 }
log: { level: warn }
`;
}

describe('PostgreSQL → MariaDB through the pipeline', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const redisUrl = requireEnv(TEST_ENV.redis);
  const mysqlAdminUrl = requireEnv(TEST_ENV.mysql);
  const names = freshNames('mysql');
  const log = memoryLogger();
  let erp: TestDatabase;
  let state: TestDatabase;
  let shop: TestDatabase;
  let conn: mysql.Connection;
  let pipeline: RunningPipeline | undefined;

  const rows = async () => {
    const [r] = await conn.query<mysql.RowDataPacket[]>('SELECT * FROM items ORDER BY item_no');
    return r.map((row): Record<string, unknown> => ({ ...row, attrs: row.attrs === null ? null : JSON.parse(row.attrs as string) }));
  };
  const drain = async () => {
    try {
      await pipeline!.drain({ timeoutMs: 30_000 });
    } catch (error) {
      throw new Error(`${(error as Error).message}\npipeline log:\n${log.lines.join('\n')}`);
    }
  };

  beforeAll(async () => {
    [erp, state, shop] = await Promise.all([
      createPgDatabase('e2e_my_erp', adminUrl),
      createPgDatabase('e2e_my_state', adminUrl),
      createMysqlDatabase('e2e_my_shop', mysqlAdminUrl),
    ]);
    await exec(erp.url, PG_DDL);
    conn = await mysql.createConnection({ uri: shop.url, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
    await conn.query(MY_DDL);
    const env = { E2E_STATE_URL: state.url, E2E_ERP_URL: erp.url, E2E_SHOP_URL: shop.url, E2E_REDIS_URL: redisUrl };
    pipeline = await startPipeline(parseConfig(config(names, shop.name), '/virtual/mysql.yaml', env), { env, logger: log.logger });
    await drain();
  });

  afterAll(async () => {
    await pipeline?.stop();
    await conn?.end();
    await Promise.all([erp?.drop(), state?.drop(), shop?.drop()]);
    await dropOrigins(adminUrl, names.origin);
    await flushPrefix(redisUrl, names.redisPrefix);
  });

  it('numeric(18,4), dates, timestamptz, booleans, json, unicode text and NULLs arrive with the same values', async () => {
    await sql(erp.url, `INSERT INTO items VALUES
      ('A-1', 'Grüße 👋 日本 — ça «va»', 12345678901234.5678, '2024-02-29', '2024-03-05 10:11:12.123456+02', true,
       '{"a": [1, 2.5, {"b": null}], "ü": "ß"}', 'line1' || chr(10) || 'line2 ''quoted'' \\ back'),
      ('A-2', 'zero', 0, '1999-12-31', '1999-12-31 23:59:59.999999+00', false, '[]', ''),
      ('A-3', 'negative', -0.0001, '2038-01-19', '2100-06-30 00:00:00-07:30', false, '{"deep": {"x": "y"}}', NULL),
      ('A-4', NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
    await drain();
    expect(await rows()).toEqual([
      {
        item_no: 'A-1', title: 'Grüße 👋 日本 — ça «va»', price: '12345678901234.5678', ship_date: '2024-02-29',
        updated: '2024-03-05 08:11:12.123456', active: 1,
        attrs: { a: [1, 2.5, { b: null }], 'ü': 'ß' }, note: "line1\nline2 'quoted' \\ back",
      },
      { item_no: 'A-2', title: 'zero', price: '0.0000', ship_date: '1999-12-31', updated: '1999-12-31 23:59:59.999999', active: 0, attrs: [], note: '' },
      { item_no: 'A-3', title: 'negative', price: '-0.0001', ship_date: '2038-01-19', updated: '2100-06-30 07:30:00.000000', active: 0, attrs: { deep: { x: 'y' } }, note: null },
      { item_no: 'A-4', title: null, price: null, ship_date: null, updated: null, active: null, attrs: null, note: null },
    ]);
  });

  it('updates (to values, to NULL, from NULL) and deletes apply', async () => {
    await sql(erp.url, `UPDATE items SET price = 99.9900, title = NULL, active = NOT active, attrs = '{"v": 2}' WHERE item_no = 'A-1'`);
    await sql(erp.url, `UPDATE items SET title = 'now set', price = 1.5, ship_date = '2025-01-01', updated = '2025-01-01 00:00:00+00', active = true, attrs = '{"k": [true, false]}', note = 'ñ' WHERE item_no = 'A-4'`);
    await sql(erp.url, `DELETE FROM items WHERE item_no = 'A-2'`);
    await drain();
    const byKey = new Map((await rows()).map((r) => [r.item_no, r]));
    expect([...byKey.keys()]).toEqual(['A-1', 'A-3', 'A-4']);
    expect(byKey.get('A-1')).toMatchObject({ title: null, price: '99.9900', active: 0, attrs: { v: 2 }, ship_date: '2024-02-29' });
    expect(byKey.get('A-4')).toEqual({
      item_no: 'A-4', title: 'now set', price: '1.5000', ship_date: '2025-01-01', updated: '2025-01-01 00:00:00.000000', active: 1, attrs: { k: [true, false] }, note: 'ñ',
    });
    expect(pipeline!.stats().tasks.deadLettered).toBe(0);
  });

  it('json numbers keep every digit (beyond 2^53 and beyond double precision)', async () => {
    await sql(erp.url, `INSERT INTO items (item_no, attrs) VALUES ('J-1', '{"big": 12345678901234567890, "exact": 0.10000000000000000001}')`);
    await drain();
    const [raw] = await conn.query<mysql.RowDataPacket[]>(`SELECT attrs FROM items WHERE item_no = 'J-1'`);
    // PostgreSQL keeps these digits in jsonb; a lossless sync must too.
    expect(String(raw[0]!.attrs)).toContain('12345678901234567890');
    expect(String(raw[0]!.attrs)).toContain('0.10000000000000000001');
    await sql(erp.url, `DELETE FROM items WHERE item_no = 'J-1'`);
    await drain();
  });
});
