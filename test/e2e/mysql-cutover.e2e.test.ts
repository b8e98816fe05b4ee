/**
 * An ownership cutover from an old ERP on MariaDB (native binlog capture,
 * commit times in whole seconds) to a new one on PostgreSQL: `title` moves
 * at wave1, `descr` stays with the old ERP. Before the cutover the new ERP's
 * title edits are rejected and corrected; after it the old ERP's are, and the
 * correction is written back into MariaDB. Each conflict is logged under the
 * rule version in force at its commit time, and the chain verifies.
 */
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { sleep } from '../../src/retry';
import { connectStateStore, verifyConflictChain } from '../../src/store';
import { connectTo } from '../capture/mysql/helpers';
import { createMysqlDatabase, createPgDatabase, flushPrefix, requireEnv, TEST_ENV, waitFor, type TestDatabase } from '../support';
import { dropOrigins, exec, freshNames, memoryLogger, sql } from './harness';

const MY_DDL = 'CREATE TABLE items (item_no varchar(40) PRIMARY KEY, title varchar(200), descr varchar(200)) CHARACTER SET utf8mb4';
const PG_DDL = 'CREATE TABLE items (item_no varchar(40) PRIMARY KEY, title varchar(200), descr varchar(200)); ALTER TABLE items REPLICA IDENTITY FULL;';
/** Far enough ahead that the edits meant to come before it are committed before it, even on a loaded machine. */
const CUTOVER_AFTER_S = 12;

function config(names: ReturnType<typeof freshNames>, mysqlDb: string, serverId: number, echoServerId: number, at: string): string {
  return `
stateStore: { url: { env: E2E_STATE_URL }, schema: ${names.schema} }
redis: { url: { env: E2E_REDIS_URL }, keyPrefix: "${names.redisPrefix}" }
systems:
  erp_old:
    type: mysql
    url: { env: E2E_OLD_URL }
    capture: { serverId: ${serverId}, heartbeatMs: 200, maxBatchDelayMs: 10 }
    apply: { origin: ${names.origin}, echoServerId: ${echoServerId}, poolSize: 2 }
  erp_new:
    type: postgres
    url: { env: E2E_NEW_URL }
    capture: { slot: ${names.erpSlot}, publication: ${names.erpSlot}, heartbeatMs: 200, maxBatchDelayMs: 10 }
    apply: { origin: ${names.origin}, poolSize: 2 }
cutovers:
  wave1: { at: "${at}" }
entities:
  product:
    owner: erp_old
    fields:
      title:
        owner:
          - { system: erp_old }
          - { system: erp_new, from: wave1 }
      descr: { owner: erp_old }
mappings:
  - { system: erp_old, table: ${mysqlDb}.items, entity: product, key: { columns: [item_no] }, fields: { sku: item_no, title: title, descr: descr } }
  - { system: erp_new, table: public.items, entity: product, key: { columns: [item_no] }, fields: { sku: item_no, title: title, descr: descr } }
pipeline: { applyPollMs: 20, leaseMs: 5000 }
metrics: { port: 0 }
log: { level: warn }
`;
}

describe('ownership cutover from MariaDB to PostgreSQL', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const redisUrl = requireEnv(TEST_ENV.redis);
  const mysqlAdminUrl = requireEnv(TEST_ENV.mysql);
  const names = freshNames('mycut');
  const log = memoryLogger();
  const serverId = 610_000 + (process.pid % 50_000);
  const echoServerId = 710_000 + (process.pid % 50_000);
  let pgNew: TestDatabase;
  let state: TestDatabase;
  let old: TestDatabase;
  let conn: mysql.Connection;
  let pipeline: RunningPipeline | undefined;
  let cutoverMs: number;

  const oldRow = async () => {
    const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT title, descr FROM items WHERE item_no = 'P-1'`);
    return rows[0] ? { title: rows[0].title as string, descr: rows[0].descr as string } : undefined;
  };
  const newRow = async () => (await sql(pgNew.url, `SELECT title, descr FROM items WHERE item_no = 'P-1'`))[0];
  const both = (expected: { title: string; descr: string }, what: string) => waitFor(async () => {
    const [a, b] = [await oldRow(), await newRow()];
    return a?.title === expected.title && a.descr === expected.descr && b?.title === expected.title && b.descr === expected.descr;
  }, { timeoutMs: 30_000, message: () => `${what}\npipeline log:\n${log.lines.join('\n')}` });

  beforeAll(async () => {
    [pgNew, state, old] = await Promise.all([
      createPgDatabase('e2e_mycut_new', adminUrl), createPgDatabase('e2e_mycut_state', adminUrl), createMysqlDatabase('e2e_mycut_old', mysqlAdminUrl),
    ]);
    await exec(pgNew.url, PG_DDL);
    conn = await connectTo(old.url);
    await conn.query(MY_DDL);
    // Whole seconds of MariaDB's clock: the binlog stamps its commits with them.
    const [[{ now }]] = await conn.query<mysql.RowDataPacket[]>('SELECT UNIX_TIMESTAMP() AS now') as unknown as [[{ now: number }]];
    cutoverMs = (Number(now) + CUTOVER_AFTER_S) * 1000;
    const env = { E2E_STATE_URL: state.url, E2E_NEW_URL: pgNew.url, E2E_OLD_URL: old.url, E2E_REDIS_URL: redisUrl };
    pipeline = await startPipeline(parseConfig(config(names, old.name, serverId, echoServerId, new Date(cutoverMs).toISOString()), '/virtual/mysql-cutover.yaml', env), { env, logger: log.logger });
  }, 60_000);

  afterAll(async () => {
    await pipeline?.stop();
    await conn?.end();
    await Promise.all([pgNew?.drop(), state?.drop(), old?.drop()]);
    await dropOrigins(adminUrl, names.origin);
    await flushPrefix(redisUrl, names.redisPrefix);
  });

  it('moves title, and only title, at wave1; the old ERP is corrected in MariaDB afterwards', async () => {
    await conn.query(`INSERT INTO items VALUES ('P-1', 'Widget', 'blue')`);
    await both({ title: 'Widget', descr: 'blue' }, 'the item did not reach PostgreSQL');
    // Before wave1: the new ERP may not change the title; the old one may.
    await sql(pgNew.url, `UPDATE items SET title = 'Widget (new)' WHERE item_no = 'P-1'`);
    await both({ title: 'Widget', descr: 'blue' }, 'the new ERP\u2019s early title was not corrected');
    await conn.query(`UPDATE items SET title = 'Widget 2' WHERE item_no = 'P-1'`);
    await both({ title: 'Widget 2', descr: 'blue' }, 'the old ERP\u2019s title did not reach PostgreSQL');

    const waitMs = cutoverMs + 1_500 - Date.now();
    expect(waitMs, 'the edits before the cutover took longer than the margin').toBeGreaterThan(1_500);
    await sleep(waitMs);

    // After wave1: the old ERP's title edit is refused and written back; descr is still its own.
    await conn.query(`UPDATE items SET title = 'Widget 3 (old)', descr = 'red' WHERE item_no = 'P-1'`);
    await both({ title: 'Widget 2', descr: 'red' }, 'the old ERP\u2019s late title was not corrected');
    await sql(pgNew.url, `UPDATE items SET title = 'Widget 4' WHERE item_no = 'P-1'`);
    await both({ title: 'Widget 4', descr: 'red' }, 'the new ERP\u2019s title did not reach MariaDB');

    const conflicts = await sql(state.url, `SELECT system, field, attempted, kept_value, rule_version, decision, corrected, (extract(epoch FROM commit_time) * 1000)::bigint::text AS ms
      FROM ${names.schema}.conflicts WHERE entity = 'product' ORDER BY id`);
    expect(conflicts.map(({ ms: _ms, ...row }) => row)).toEqual([
      { system: 'erp_new', field: 'title', attempted: 'Widget (new)', kept_value: 'Widget', rule_version: 'product.title@initial', decision: 'rejected', corrected: true },
      { system: 'erp_old', field: 'title', attempted: 'Widget 3 (old)', kept_value: 'Widget 2', rule_version: 'product.title@wave1', decision: 'rejected', corrected: true },
    ]);
    expect(Number(conflicts[0]!.ms)).toBeLessThan(cutoverMs);
    // The binlog's whole second of the old ERP's late edit is at or after the cutover.
    expect(Number(conflicts[1]!.ms) % 1000).toBe(0);
    expect(Number(conflicts[1]!.ms)).toBeGreaterThanOrEqual(cutoverMs);

    const store = connectStateStore(state.url, 1);
    try {
      expect(await verifyConflictChain(store, names.schema)).toMatchObject({ ok: true, rows: 2 });
    } finally {
      await store.destroy();
    }
    expect(pipeline!.stats().tasks.deadLettered).toBe(0);
  }, 120_000);
});
