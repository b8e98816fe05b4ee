/**
 * MariaDB captured natively from its binlog → PostgreSQL target through the
 * whole pipeline (state store on PostgreSQL, dedup in Redis): the initial
 * snapshot and streamed inserts, updates and deletes arrive with exactly the
 * same values. (pipeline.drain() marks sources through PostgreSQL only, so
 * this test polls the target.)
 */
import { isDeepStrictEqual } from 'node:util';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { connectTo } from '../capture/mysql/helpers';
import { createMysqlDatabase, createPgDatabase, flushPrefix, requireEnv, TEST_ENV, waitFor, type TestDatabase } from '../support';
import { dropOrigins, exec, freshNames, memoryLogger, sql } from './harness';

const MY_DDL = `CREATE TABLE items (
  item_no   varchar(40) PRIMARY KEY,
  title     varchar(200),
  price     decimal(18,4),
  ship_date date,
  updated   timestamp(6) NULL,
  local_at  datetime(6),
  attrs     json,
  note      text
) CHARACTER SET utf8mb4`;

const PG_DDL = `CREATE TABLE items (
  item_no text PRIMARY KEY, title text, price numeric(18,4), ship_date date, updated timestamptz, local_at timestamp, attrs jsonb, note text
)`;

function config(names: ReturnType<typeof freshNames>, mysqlDb: string, serverId: number): string {
  const fields = `
      sku: item_no
      title: title
      price: { column: price, convert: [{ decimal: { scale: 4 } }] }
      ship_date: ship_date
      updated: updated
      local_at: local_at
      attrs: attrs
      note: note`;
  return `
stateStore: { url: { env: E2E_STATE_URL }, schema: ${names.schema} }
redis: { url: { env: E2E_REDIS_URL }, keyPrefix: "${names.redisPrefix}" }
systems:
  shop:
    type: mysql
    url: { env: E2E_SHOP_URL }
    capture: { serverId: ${serverId}, heartbeatMs: 200, maxBatchDelayMs: 10 }
  erp:
    type: postgres
    url: { env: E2E_ERP_URL }
    apply: { origin: ${names.origin}, poolSize: 2 }
entities:
  product: { owner: shop }
mappings:
  - system: shop
    table: ${mysqlDb}.items
    entity: product
    key: { columns: [item_no] }
    fields:${fields}
  - system: erp
    table: public.items
    entity: product
    key: { columns: [item_no] }
    fields:${fields}
pipeline: { applyPollMs: 20, leaseMs: 5000 }
metrics: { port: 0 }
log: { level: warn }
`;
}

describe('MariaDB (native binlog capture) → PostgreSQL through the pipeline', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const redisUrl = requireEnv(TEST_ENV.redis);
  const mysqlAdminUrl = requireEnv(TEST_ENV.mysql);
  const names = freshNames('mysrc');
  const log = memoryLogger();
  let erp: TestDatabase;
  let state: TestDatabase;
  let shop: TestDatabase;
  let conn: mysql.Connection;
  let pipeline: RunningPipeline | undefined;

  const target = () => sql(erp.url, `SELECT item_no, title, price::text AS price, ship_date::text AS ship_date,
    to_char(updated AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS updated, to_char(local_at, 'YYYY-MM-DD"T"HH24:MI:SS.US') AS local_at,
    attrs, note FROM items ORDER BY item_no`);
  const source = async () => {
    const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT item_no, title, CAST(price AS CHAR) AS price, CAST(ship_date AS CHAR) AS ship_date,
      DATE_FORMAT(updated, '%Y-%m-%dT%H:%i:%s.%f') AS updated, DATE_FORMAT(local_at, '%Y-%m-%dT%H:%i:%s.%f') AS local_at, attrs, note
      FROM items ORDER BY item_no`);
    return rows.map((r) => ({ ...r, attrs: r.attrs === null ? null : JSON.parse(r.attrs as string) }));
  };
  const converged = async () => {
    let last: unknown;
    await waitFor(async () => {
      const [s, t] = await Promise.all([source(), target()]);
      last = { source: s, target: t };
      return isDeepStrictEqual(s.map((r) => ({ ...r })), t.map((r) => ({ ...r })));
    }, { timeoutMs: 30_000, message: () => `target did not converge: ${JSON.stringify(last)}\npipeline log:\n${log.lines.join('\n')}` });
    return target();
  };

  beforeAll(async () => {
    [erp, state, shop] = await Promise.all([
      createPgDatabase('e2e_mysrc_erp', adminUrl),
      createPgDatabase('e2e_mysrc_state', adminUrl),
      createMysqlDatabase('e2e_mysrc_shop', mysqlAdminUrl),
    ]);
    await exec(erp.url, PG_DDL);
    conn = await connectTo(shop.url);
    await conn.query(MY_DDL);
    // Rows present before the pipeline starts arrive through the initial snapshot.
    await conn.query(`INSERT INTO items VALUES
      ('S-1', 'snapshot row ✓', 12345678901234.5678, '2024-02-29', '2024-03-05 08:11:12.123456', '2024-03-05 10:11:12.654321', '{"a": [1, 2.5, {"b": null}]}', 'x')`);
    const env = { E2E_STATE_URL: state.url, E2E_ERP_URL: erp.url, E2E_SHOP_URL: shop.url, E2E_REDIS_URL: redisUrl };
    const serverId = 200_000 + (process.pid % 50_000);
    pipeline = await startPipeline(parseConfig(config(names, shop.name, serverId), '/virtual/mysql-source.yaml', env), { env, logger: log.logger });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await conn?.end();
    await Promise.all([erp?.drop(), state?.drop(), shop?.drop()]);
    await dropOrigins(adminUrl, names.origin);
    await flushPrefix(redisUrl, names.redisPrefix);
  });

  it('snapshot and streamed rows arrive with identical values; updates and deletes apply', async () => {
    await conn.query(`INSERT INTO items VALUES
      ('A-1', 'Grüße 👋 日本 — ça «va»', -0.0001, '1999-12-31', '1999-12-31 23:59:59.999999', '2000-01-01 00:00:00.000001', '{"ü": "ß", "n": [true, false]}', 'line1\\nline2 ''q'''),
      ('A-2', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      ('A-3', 'zero', 0, '2038-01-19', '2038-01-19 03:14:07', '9999-12-31 23:59:59.999999', '{"empty": [], "deep": {"x": "y"}}', '')`);
    let rows = await converged();
    expect(rows).toHaveLength(4);
    expect(rows.find((r) => r.item_no === 'S-1')).toMatchObject({ price: '12345678901234.5678', updated: '2024-03-05T08:11:12.123456', local_at: '2024-03-05T10:11:12.654321' });
    expect(rows.find((r) => r.item_no === 'A-1')).toMatchObject({ title: 'Grüße 👋 日本 — ça «va»', price: '-0.0001', attrs: { 'ü': 'ß', n: [true, false] } });

    await conn.query(`UPDATE items SET price = 99.99, title = NULL, attrs = '{"v": 2}' WHERE item_no = 'A-1'`);
    await conn.query(`UPDATE items SET title = 'now set', price = 1.5, ship_date = '2025-01-01', note = 'ñ' WHERE item_no = 'A-2'`);
    await conn.query(`DELETE FROM items WHERE item_no = 'A-3'`);
    rows = await converged();
    expect(rows.map((r) => r.item_no)).toEqual(['A-1', 'A-2', 'S-1']);
    expect(rows[0]).toMatchObject({ title: null, price: '99.9900', attrs: { v: 2 } });
    expect(pipeline!.stats().tasks.deadLettered).toBe(0);
  });
});
