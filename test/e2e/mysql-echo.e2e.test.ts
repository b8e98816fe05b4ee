/**
 * MariaDB captured natively (binlog) AND written by tandem, PostgreSQL the
 * other side (captured and written), state store on PostgreSQL, dedup in
 * Redis. tandem's MariaDB connections `SET SESSION server_id` to the
 * configured `apply.echoServerId`; the binlog source marks events with that
 * server id as tandem's, and the pipeline drops those echoes. A change made in
 * MariaDB by another session still flows to PostgreSQL.
 */
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { connectTo } from '../capture/mysql/helpers';
import { createMysqlDatabase, createPgDatabase, flushPrefix, requireEnv, TEST_ENV, waitFor, type TestDatabase } from '../support';
import { dropOrigins, exec, freshNames, memoryLogger, sql } from './harness';

const MY_DDL = `CREATE TABLE items (
  item_no varchar(40) PRIMARY KEY,
  title   varchar(200),
  price   decimal(18,4)
) CHARACTER SET utf8mb4`;

/** Every write to `items` is logged with whether the writer had a replication origin set up (tandem's writes do). */
const PG_DDL = `
CREATE TABLE items (item_no text PRIMARY KEY, title text, price numeric(18,4));
ALTER TABLE items REPLICA IDENTITY FULL;
CREATE TABLE write_log (id bigserial PRIMARY KEY, op text NOT NULL, row_key text, title text, by_tandem boolean NOT NULL);
CREATE FUNCTION log_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO write_log (op, row_key, title, by_tandem)
  VALUES (TG_OP, CASE WHEN TG_OP = 'DELETE' THEN OLD.item_no ELSE NEW.item_no END,
          CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.title END, pg_replication_origin_session_is_setup());
  RETURN NULL;
END $$;
CREATE TRIGGER items_log AFTER INSERT OR UPDATE OR DELETE ON items FOR EACH ROW EXECUTE FUNCTION log_write();
`;

function config(names: ReturnType<typeof freshNames>, mysqlDb: string, serverId: number, echoServerId: number): string {
  const fields = `
      sku: item_no
      title: title
      price: { column: price, convert: [{ decimal: { scale: 4 } }] }`;
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
    fields:
      title: { policy: latest-wins }
      price: { policy: latest-wins }
    priority: [erp, shop]
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

describe('MariaDB ⇄ PostgreSQL: echoes of tandem\'s MariaDB writes are recognised by their binlog server id', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const redisUrl = requireEnv(TEST_ENV.redis);
  const mysqlAdminUrl = requireEnv(TEST_ENV.mysql);
  const names = freshNames('myecho');
  const log = memoryLogger();
  const serverId = 300_000 + (process.pid % 50_000);
  const echoServerId = 400_000 + (process.pid % 50_000);
  let erp: TestDatabase;
  let state: TestDatabase;
  let shop: TestDatabase;
  let conn: mysql.Connection;
  let pipeline: RunningPipeline | undefined;

  const shopRow = async (itemNo: string) => {
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT item_no, title, CAST(price AS CHAR) AS price FROM items WHERE item_no = ?', [itemNo]);
    return rows[0] ? { ...rows[0] } : undefined;
  };
  const erpRow = async (itemNo: string) => (await sql(erp.url, 'SELECT item_no, title, price::text AS price FROM items WHERE item_no = $1', [itemNo]))[0];
  const wait = (what: string, check: () => Promise<boolean>) =>
    waitFor(check, { timeoutMs: 30_000, message: () => `${what}\npipeline log:\n${log.lines.join('\n')}` });
  const journal = async (itemNo: string) =>
    (await sql(state.url, `SELECT system FROM ${names.schema}.journal WHERE entity = 'product' AND key LIKE $1 ORDER BY id`, [`%${itemNo}`])).map((r) => r.system as string);

  beforeAll(async () => {
    [erp, state, shop] = await Promise.all([
      createPgDatabase('e2e_myecho_erp', adminUrl),
      createPgDatabase('e2e_myecho_state', adminUrl),
      createMysqlDatabase('e2e_myecho_shop', mysqlAdminUrl),
    ]);
    await exec(erp.url, PG_DDL, `CREATE PUBLICATION ${names.erpSlot} FOR TABLE items`);
    conn = await connectTo(shop.url);
    await conn.query(MY_DDL);
    const env = { E2E_STATE_URL: state.url, E2E_ERP_URL: erp.url, E2E_SHOP_URL: shop.url, E2E_REDIS_URL: redisUrl };
    pipeline = await startPipeline(parseConfig(config(names, shop.name, serverId, echoServerId), '/virtual/mysql-echo.yaml', env), { env, logger: log.logger });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await conn?.end();
    await Promise.all([erp?.drop(), state?.drop(), shop?.drop()]);
    await dropOrigins(adminUrl, names.origin);
    await flushPrefix(redisUrl, names.redisPrefix);
  });

  it('a PostgreSQL change reaches MariaDB and its echo is dropped; a MariaDB change by another session reaches PostgreSQL', async () => {
    const skippedBefore = pipeline!.stats().events.skipped;
    await sql(erp.url, `INSERT INTO items VALUES ('P-1', 'from postgres', 10.5)`);
    await wait('the PostgreSQL insert did not reach MariaDB', async () => (await shopRow('P-1'))?.title === 'from postgres');
    expect(await shopRow('P-1')).toEqual({ item_no: 'P-1', title: 'from postgres', price: '10.5000' });

    // tandem's write went into the binlog with the echo server id.
    const [binlogs] = await conn.query<mysql.RowDataPacket[]>('SHOW BINARY LOGS');
    const lastLog = String(binlogs[binlogs.length - 1]!.Log_name);
    const [events] = await conn.query<mysql.RowDataPacket[]>(`SHOW BINLOG EVENTS IN '${lastLog}'`);
    expect(events.some((e) => Number(e.Server_id) === echoServerId && /Write_rows/i.test(String(e.Event_type)))).toBe(true);

    // A change made in MariaDB by another session (the server's own server_id) flows to PostgreSQL.
    // The binlog is read in order: once it has arrived, the echo written before it has been read too.
    await conn.query(`INSERT INTO items VALUES ('M-1', 'from mariadb', 7.25)`);
    await wait('the MariaDB insert did not reach PostgreSQL', async () => (await erpRow('M-1'))?.title === 'from mariadb');
    expect(await erpRow('M-1')).toEqual({ item_no: 'M-1', title: 'from mariadb', price: '7.2500' });

    // The echo was dropped at capture: counted as skipped, never resolved (no journal entry from shop),
    // and nothing went back to PostgreSQL (its only write of P-1 is the original insert).
    expect(pipeline!.stats().events.skipped).toBeGreaterThan(skippedBefore);
    expect(await journal('P-1')).toEqual(['erp']);
    expect(await sql(erp.url, `SELECT op, by_tandem FROM write_log WHERE row_key = 'P-1' ORDER BY id`)).toEqual([{ op: 'INSERT', by_tandem: false }]);
    // The MariaDB change: resolved once from shop, written once into PostgreSQL by tandem.
    expect(await journal('M-1')).toEqual(['shop']);
    expect(await sql(erp.url, `SELECT op, by_tandem FROM write_log WHERE row_key = 'M-1' ORDER BY id`)).toEqual([{ op: 'INSERT', by_tandem: true }]);

    // An update made in PostgreSQL: same again.
    await sql(erp.url, `UPDATE items SET title = 'renamed in postgres' WHERE item_no = 'P-1'`);
    await wait('the PostgreSQL update did not reach MariaDB', async () => (await shopRow('P-1'))?.title === 'renamed in postgres');
    await conn.query(`UPDATE items SET title = 'renamed in mariadb' WHERE item_no = 'M-1'`);
    await wait('the MariaDB update did not reach PostgreSQL', async () => (await erpRow('M-1'))?.title === 'renamed in mariadb');
    expect(await journal('P-1')).toEqual(['erp', 'erp']);
    expect(await sql(erp.url, `SELECT op, by_tandem FROM write_log WHERE row_key = 'P-1' ORDER BY id`)).toEqual([
      { op: 'INSERT', by_tandem: false }, { op: 'UPDATE', by_tandem: false },
    ]);
    expect(pipeline!.stats().tasks.deadLettered).toBe(0);
  });
});
