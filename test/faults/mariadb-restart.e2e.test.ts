/**
 * The source MariaDB stopped and started again while tandem captures its
 * binlog, with writes before, during the restart's aftermath and after it:
 * the source reconnects by itself, resumes from its acknowledged binlog
 * position, and the PostgreSQL target's trigger-fed write log shows every
 * change exactly once.
 */
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { connectTo } from '../capture/mysql/helpers';
import { createPgDatabase, flushPrefix, requireEnv, TEST_ENV, waitFor, type TestDatabase } from '../support';
import { dropOrigins, exec, freshNames, memoryLogger, sql } from '../e2e/harness';
import { startPrivateMariadb, type PrivateMariadb } from './private-mariadb';

const PG_DDL = `
CREATE TABLE items (item_no text PRIMARY KEY, qty integer);
CREATE TABLE write_log (id bigserial PRIMARY KEY, op text, row_key text, new_value text);
CREATE FUNCTION log_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO write_log (op, row_key, new_value) VALUES (TG_OP, COALESCE(NEW.item_no, OLD.item_no), NEW.qty::text);
  RETURN NULL;
END $$;
CREATE TRIGGER items_log AFTER INSERT OR UPDATE OR DELETE ON items FOR EACH ROW EXECUTE FUNCTION log_write();`;

describe('source MariaDB restarted under binlog capture', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const redisUrl = requireEnv(TEST_ENV.redis);
  const names = freshNames('myrestart');
  const log = memoryLogger();
  let server: PrivateMariadb;
  let erp: TestDatabase;
  let state: TestDatabase;
  let pipeline: RunningPipeline | undefined;

  const withShop = async <T>(fn: (conn: mysql.Connection) => Promise<T>): Promise<T> => {
    const conn = await connectTo(server.urlOf('shop'));
    try {
      return await fn(conn);
    } finally {
      await conn.end();
    }
  };
  /** 20 inserts, then 10 updates that each set a distinct quantity. */
  const load = (round: number) => withShop(async (conn) => {
    for (let i = 0; i < 20; i++) await conn.query('INSERT INTO items VALUES (?, ?)', [`r${round}-${i}`, round * 1000 + i]);
    for (let i = 0; i < 10; i++) await conn.query('UPDATE items SET qty = ? WHERE item_no = ?', [round * 1000 + 500 + i, `r${round}-${i}`]);
  });
  const converged = async () => {
    let progress = '';
    await waitFor(async () => {
      const source = await withShop(async (conn) => (await conn.query('SELECT item_no, qty FROM items ORDER BY item_no'))[0] as Array<{ item_no: string; qty: number }>);
      const target = await sql(erp.url, 'SELECT item_no, qty FROM items ORDER BY item_no');
      progress = `source ${source.length} rows, target ${target.length}`;
      return JSON.stringify(source) === JSON.stringify(target);
    }, { timeoutMs: 90_000, intervalMs: 250, message: () => `the target did not converge (${progress})\n${log.lines.slice(-20).join('\n')}` });
  };

  beforeAll(async () => {
    server = await startPrivateMariadb(['shop']);
    await withShop((conn) => conn.query('CREATE TABLE items (item_no varchar(20) PRIMARY KEY, qty int)'));
    [erp, state] = await Promise.all([createPgDatabase('e2e_myrestart_erp', adminUrl), createPgDatabase('e2e_myrestart_state', adminUrl)]);
    await exec(erp.url, PG_DDL);
    const env = { E2E_STATE_URL: state.url, E2E_ERP_URL: erp.url, E2E_SHOP_URL: server.urlOf('shop'), E2E_REDIS_URL: redisUrl };
    const yaml = `
stateStore: { url: { env: E2E_STATE_URL }, schema: ${names.schema} }
redis: { url: { env: E2E_REDIS_URL }, keyPrefix: "${names.redisPrefix}" }
systems:
  shop:
    type: mysql
    url: { env: E2E_SHOP_URL }
    capture: { serverId: ${300_000 + (process.pid % 50_000)}, heartbeatMs: 200, maxBatchDelayMs: 10 }
  erp:
    type: postgres
    url: { env: E2E_ERP_URL }
    apply: { origin: ${names.origin}, poolSize: 2 }
entities:
  product: { owner: shop }
mappings:
  - { system: shop, table: shop.items, entity: product, key: { columns: [item_no] }, fields: { sku: item_no, qty: qty } }
  - { system: erp, table: public.items, entity: product, key: { columns: [item_no] }, fields: { sku: item_no, qty: qty } }
pipeline: { applyPollMs: 20, leaseMs: 5000 }
metrics: { port: 0 }
log: { level: warn }
`;
    pipeline = await startPipeline(parseConfig(yaml, '/virtual/mariadb-restart.yaml', env), { env, logger: log.logger });
  }, 180_000);

  afterAll(async () => {
    await pipeline?.stop();
    await Promise.all([erp?.drop(), state?.drop()]);
    await dropOrigins(adminUrl, names.origin);
    await flushPrefix(redisUrl, names.redisPrefix);
    await server?.destroy();
  });

  it('reconnects after the restart and applies every change once', async () => {
    // Streaming, not snapshotting, before the load: a snapshot legitimately carries only each row's latest value.
    await withShop((conn) => conn.query(`INSERT INTO items VALUES ('warm-up', 0)`));
    await converged();
    // Stopped right after round 1, before tandem has necessarily read it: it must resume mid-binlog.
    await load(1);
    await server.stop();
    await new Promise((r) => setTimeout(r, 2000));
    await server.start();
    await load(2);
    await converged();
    await load(3);
    await converged();

    expect(await sql(erp.url, `SELECT op, row_key, new_value FROM write_log GROUP BY 1, 2, 3 HAVING count(*) > 1`)).toEqual([]);
    const history = await sql(erp.url, `SELECT row_key, string_agg(op || ' ' || new_value, ', ' ORDER BY id) AS h FROM write_log GROUP BY 1 HAVING count(*) = 1 AND row_key ~ '-[0-9]$' ORDER BY 1`);
    expect(await sql(erp.url, `SELECT op, count(*)::int AS n FROM write_log GROUP BY 1 ORDER BY 1`), JSON.stringify(history)).toEqual([{ op: 'INSERT', n: 61 }, { op: 'UPDATE', n: 30 }]);
    expect(log.lines.some((l) => l.includes('source failed; restarting'))).toBe(true);
  });
});
