/**
 * A same-second race between a MariaDB edit and a PostgreSQL edit of a
 * latest-wins field, through the whole pipeline. The binlog stamps MariaDB's
 * change with its whole second; PostgreSQL's commit time has milliseconds,
 * so compared as numbers PostgreSQL's edit always looks later — even here,
 * where it was made first. tandem treats commit times within the binlog's
 * one-second precision as a tie and lets `priority` (MariaDB first) decide,
 * and logs that rule.
 */
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { sleep } from '../../src/retry';
import { connectTo } from '../capture/mysql/helpers';
import { createMysqlDatabase, createPgDatabase, flushPrefix, requireEnv, TEST_ENV, waitFor, type TestDatabase } from '../support';
import { dropOrigins, exec, freshNames, memoryLogger, sql } from './harness';

const MY_DDL = 'CREATE TABLE items (item_no varchar(40) PRIMARY KEY, title varchar(200)) CHARACTER SET utf8mb4';
const PG_DDL = 'CREATE TABLE items (item_no varchar(40) PRIMARY KEY, title varchar(200)); ALTER TABLE items REPLICA IDENTITY FULL;';

function config(names: ReturnType<typeof freshNames>, mysqlDb: string, serverId: number, echoServerId: number): string {
  return `
stateStore: { url: { env: E2E_STATE_URL }, schema: ${names.schema} }
redis: { url: { env: E2E_REDIS_URL }, keyPrefix: "${names.redisPrefix}" }
systems:
  shop:
    type: mysql
    url: { env: E2E_SHOP_URL }
    capture: { serverId: ${serverId}, heartbeatMs: 200, maxBatchDelayMs: 10 }
    apply: { origin: ${names.origin}, echoServerId: ${echoServerId}, poolSize: 2 }
  erp:
    type: postgres
    url: { env: E2E_ERP_URL }
    capture: { slot: ${names.erpSlot}, publication: ${names.erpSlot}, heartbeatMs: 200, maxBatchDelayMs: 10 }
    apply: { origin: ${names.origin}, poolSize: 2 }
entities:
  product:
    owner: erp
    fields: { title: { policy: latest-wins } }
    priority: [shop, erp]
mappings:
  - { system: erp, table: public.items, entity: product, key: { columns: [item_no] }, fields: { sku: item_no, title: title } }
  - { system: shop, table: ${mysqlDb}.items, entity: product, key: { columns: [item_no] }, fields: { sku: item_no, title: title } }
pipeline: { applyPollMs: 20, leaseMs: 5000 }
metrics: { port: 0 }
log: { level: warn }
`;
}

describe('MariaDB ⇄ PostgreSQL: a same-second latest-wins race is decided by priority, not by the binlog\u2019s truncated second', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const redisUrl = requireEnv(TEST_ENV.redis);
  const mysqlAdminUrl = requireEnv(TEST_ENV.mysql);
  const names = freshNames('myrace');
  const log = memoryLogger();
  const serverId = 600_000 + (process.pid % 50_000);
  const echoServerId = 700_000 + (process.pid % 50_000);
  let erp: TestDatabase;
  let state: TestDatabase;
  let shop: TestDatabase;
  let conn: mysql.Connection;
  let pipeline: RunningPipeline | undefined;
  let env: Record<string, string>;

  const start = () => startPipeline(parseConfig(config(names, shop.name, serverId, echoServerId), '/virtual/mysql-race.yaml', env), { env, logger: log.logger });
  const shopTitle = async () => {
    const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT title FROM items WHERE item_no = 'R-1'`);
    return rows[0]?.title as string | undefined;
  };
  const erpTitle = async () => (await sql(erp.url, `SELECT title FROM items WHERE item_no = 'R-1'`))[0]?.title as string | undefined;
  const wait = (what: string, check: () => Promise<boolean>) =>
    waitFor(check, { timeoutMs: 30_000, message: () => `${what}\npipeline log:\n${log.lines.join('\n')}` });

  beforeAll(async () => {
    [erp, state, shop] = await Promise.all([
      createPgDatabase('e2e_myrace_erp', adminUrl), createPgDatabase('e2e_myrace_state', adminUrl), createMysqlDatabase('e2e_myrace_shop', mysqlAdminUrl),
    ]);
    await exec(erp.url, PG_DDL);
    conn = await connectTo(shop.url);
    await conn.query(MY_DDL);
    env = { E2E_STATE_URL: state.url, E2E_ERP_URL: erp.url, E2E_SHOP_URL: shop.url, E2E_REDIS_URL: redisUrl };
    pipeline = await start();
  });

  afterAll(async () => {
    await pipeline?.stop();
    await conn?.end();
    await Promise.all([erp?.drop(), state?.drop(), shop?.drop()]);
    await dropOrigins(adminUrl, names.origin);
    await flushPrefix(redisUrl, names.redisPrefix);
  });

  it('PostgreSQL edits first, MariaDB in the same second: priority gives MariaDB the field on both sides, and the log says why', async () => {
    await sql(erp.url, `INSERT INTO items VALUES ('R-1', 'base')`);
    await wait('the row did not reach MariaDB', async () => (await shopTitle()) === 'base');
    // Both edits are made while tandem is stopped, so each was made without seeing the other.
    await pipeline!.stop();
    pipeline = undefined;
    // Early in a second, so that both edits fall in it.
    while (Date.now() % 1000 < 50 || Date.now() % 1000 > 300) await sleep(10);
    await sql(erp.url, `UPDATE items SET title = 'from postgres' WHERE item_no = 'R-1'`);
    await conn.query(`UPDATE items SET title = 'from mariadb' WHERE item_no = 'R-1'`);

    pipeline = await start();
    await wait('the systems did not converge on the MariaDB edit', async () => (await erpTitle()) === 'from mariadb' && (await shopTitle()) === 'from mariadb');

    // The premise: in one second, PostgreSQL's millisecond time after the binlog's truncated second.
    const times = await sql(state.url, `SELECT system, (extract(epoch FROM commit_time) * 1000)::bigint::text AS ms, change -> 'event' -> 'source' ->> 'commitTimePrecisionMs' AS precision
      FROM ${names.schema}.journal WHERE entity = 'product' ORDER BY id DESC LIMIT 2`);
    const shopMs = Number(times.find((t) => t.system === 'shop')!.ms);
    const erpMs = Number(times.find((t) => t.system === 'erp')!.ms);
    expect(shopMs % 1000).toBe(0);
    expect(erpMs).toBeGreaterThan(shopMs);
    expect(erpMs).toBeLessThan(shopMs + 1000);
    expect(times.find((t) => t.system === 'shop')!.precision).toBe('1000');

    const conflicts = await sql(state.url, `SELECT system, decision, rule, kept_value FROM ${names.schema}.conflicts WHERE entity = 'product' AND field = 'title' ORDER BY id`);
    expect(conflicts).toEqual([expect.objectContaining({ rule: 'product.title latest-wins (tie within 1000 ms precision → priority)', kept_value: 'from mariadb' })]);
    expect(pipeline.stats().tasks.deadLettered).toBe(0);
  });
});
