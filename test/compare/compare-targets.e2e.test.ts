/**
 * `tandem compare` against a target tandem only writes (not captured):
 * a MariaDB shop (rows read the way MySQL capture reads them, compared row
 * by row) and a PostgreSQL shop keyed and mapped like the ERP (compared by
 * key-range hashes in both databases first). Drift planted in the target —
 * a field altered, rows deleted, rows inserted — and in the ERP behind
 * tandem's back is found exactly, and `--repair` brings compare to 0.
 */
import mysql from 'mysql2/promise';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCompareCommand } from '../../src/cli/compare-command';
import { runConflictsVerify } from '../../src/cli/conflicts/verify';
import { bufferIo } from '../../src/cli/io';
import { startReconcile, type CompareReport } from '../../src/compare';
import { createCompareMetrics } from '../../src/metrics';
import { connectStateStore } from '../../src/store';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { createMysqlDatabase, createPgDatabase, flushPrefix, requireEnv, TEST_ENV, type TestDatabase } from '../support';
import { dropOrigins, exec, freshNames, memoryLogger, sql } from '../e2e/harness';

const PG_DDL = `CREATE TABLE items (item_no integer PRIMARY KEY, title text, price numeric(12,2), active boolean);
ALTER TABLE items REPLICA IDENTITY FULL;`;
const MY_DDL = `CREATE TABLE items (item_no integer PRIMARY KEY, title varchar(200), price decimal(12,2), active boolean) CHARACTER SET utf8mb4`;

function config(names: ReturnType<typeof freshNames>, shop: { type: 'mysql' | 'postgres'; table: string }): string {
  const fields = `
      item_no: item_no
      title: { column: title, convert: [trim] }
      price: { column: price, convert: [{ decimal: { scale: 2 } }] }
      active: active`;
  return `
stateStore: { url: { env: CMP_STATE_URL }, schema: ${names.schema} }
redis: { url: { env: CMP_REDIS_URL }, keyPrefix: "${names.redisPrefix}" }
systems:
  erp:
    type: postgres
    url: { env: CMP_ERP_URL }
    capture: { slot: ${names.erpSlot}, publication: ${names.erpSlot}, heartbeatMs: 200, maxBatchDelayMs: 10 }
    apply: { origin: ${names.origin}, poolSize: 1 }
  shop:
    type: ${shop.type}
    url: { env: CMP_SHOP_URL }
    apply: { ${shop.type === 'postgres' ? `origin: ${names.origin}, ` : ''}poolSize: 2 }
entities:
  product: { owner: erp }
mappings:
  - system: erp
    table: public.items
    entity: product
    key: { columns: [item_no] }
    fields:${fields}
  - system: shop
    table: ${shop.table}
    entity: product
    key: { columns: [item_no] }
    fields:${fields}
pipeline: { applyPollMs: 20, leaseMs: 5000 }
metrics: { port: 0 }
log: { level: warn }
`;
}

interface Fixture {
  configFile: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  compare(extra?: { repair?: boolean; pushdown?: boolean }): Promise<{ code: number; report: CompareReport }>;
  /** Writes to the ERP that capture drops as tandem's own (an origin slot of tandem's origin). */
  erpBehindTheBack(...statements: string[]): Promise<void>;
  cleanup(): Promise<void>;
}

async function fixture(tag: string, shopType: 'mysql' | 'postgres', seedRows: number): Promise<Fixture & { erp: TestDatabase; shop: TestDatabase; state: TestDatabase }> {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const redisUrl = requireEnv(TEST_ENV.redis);
  const names = freshNames(tag);
  const log = memoryLogger();
  const [erp, state, shop] = await Promise.all([
    createPgDatabase(`cmp_${tag}_erp`, adminUrl),
    createPgDatabase(`cmp_${tag}_state`, adminUrl),
    shopType === 'mysql' ? createMysqlDatabase(`cmp_${tag}_shop`, requireEnv(TEST_ENV.mysql)) : createPgDatabase(`cmp_${tag}_shop`, adminUrl),
  ]);
  await exec(erp.url, PG_DDL);
  if (shopType === 'mysql') {
    const conn = await mysql.createConnection({ uri: shop.url });
    await conn.query(MY_DDL);
    await conn.end();
  } else {
    await exec(shop.url, PG_DDL);
  }
  await sql(erp.url, `INSERT INTO items SELECT n, 'item ' || n, n * 1.25, n % 3 = 0 FROM generate_series(1, $1) n`, [seedRows]);
  const env = { CMP_STATE_URL: state.url, CMP_ERP_URL: erp.url, CMP_SHOP_URL: shop.url, CMP_REDIS_URL: redisUrl };
  Object.assign(process.env, env);
  const dir = mkdtempSync(join(tmpdir(), 'tandem-compare-'));
  const configFile = join(dir, 'tandem.yaml');
  const text = config(names, { type: shopType, table: shopType === 'mysql' ? `${shop.name}.items` : 'public.items' });
  writeFileSync(configFile, text);
  let pipeline: RunningPipeline | undefined;
  return {
    erp, shop, state, configFile,
    async start() {
      pipeline = await startPipeline(parseConfig(text, configFile, env), { env, logger: log.logger, instanceId: `cmp-${tag}` });
      try {
        await pipeline.drain({ timeoutMs: 60_000 });
      } catch (error) {
        throw new Error(`${(error as Error).message}\n${log.lines.join('\n')}`);
      }
    },
    async stop() {
      await pipeline?.stop();
      pipeline = undefined;
    },
    async compare(extra = {}) {
      const io = bufferIo();
      const code = await runCompareCommand({ config: configFile, format: 'json', limit: 1000, ...extra }, io);
      expect(io.stderr()).toBe('');
      return { code, report: JSON.parse(io.stdout()) as CompareReport };
    },
    async erpBehindTheBack(...statements) {
      const client = new pg.Client({ connectionString: erp.url });
      await client.connect();
      try {
        const origin = `${names.origin}:77`;
        await client.query(`SELECT pg_replication_origin_create($1) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1)`, [origin]);
        await client.query('SELECT pg_replication_origin_session_setup($1)', [origin]);
        for (const s of statements) await client.query(s);
      } finally {
        await client.end();
      }
    },
    async cleanup() {
      await pipeline?.stop();
      rmSync(dir, { recursive: true, force: true });
      await Promise.all([erp.drop(), state.drop(), shop.drop()]);
      await dropOrigins(adminUrl, names.origin);
      await flushPrefix(redisUrl, names.redisPrefix);
    },
  };
}

describe('tandem compare: PostgreSQL ERP → MariaDB shop (row by row)', () => {
  let f: Awaited<ReturnType<typeof fixture>>;
  const shop = async (statement: string) => {
    const conn = await mysql.createConnection({ uri: f.shop.url });
    try {
      await conn.query(statement);
    } finally {
      await conn.end();
    }
  };

  beforeAll(async () => {
    f = await fixture('my', 'mysql', 200);
    await f.start();
  }, 120_000);
  afterAll(async () => f?.cleanup());

  it('finds each planted difference with its kind, repairs them, and compare exits 0 afterwards', async () => {
    const agree = await f.compare();
    expect(agree.report.entities[0]!.differences.slice(0, 3)).toEqual([]);
    expect(agree.code).toBe(0);
    await shop(`UPDATE items SET title = 'hand edited' WHERE item_no = 7`);
    await shop(`UPDATE items SET price = 0.01 WHERE item_no = 8`);
    await shop(`DELETE FROM items WHERE item_no IN (20, 21)`);
    await shop(`INSERT INTO items VALUES (5000, 'shop only', 3.50, true)`);
    await f.erpBehindTheBack(`UPDATE items SET active = NOT active WHERE item_no = 30`);

    const found = await f.compare();
    expect(found.code).toBe(1);
    const [product] = found.report.entities;
    expect(product).toMatchObject({ entity: 'product', method: 'stream', records: 200, recordsMismatched: 6, byKind: { missing: 2, unlinked: 1, deleted: 0, field: 3 } });
    const summary = product!.differences.map((d) => `${d.kind} ${d.key} ${d.field ?? ''} ${d.wrong.join('+')}`).sort();
    expect(summary).toEqual([
      'field erp:30 active shop+canonical', 'field erp:7 title shop', 'field erp:8 price shop',
      'missing erp:20  shop', 'missing erp:21  shop', 'unlinked shop:5000  shop',
    ]);
    expect(product!.differences.find((d) => d.key === 'erp:8')).toMatchObject({ values: { erp: '10.00', shop: '0.01', canonical: '10.00' }, right: { value: '10.00' } });

    const repaired = await f.compare({ repair: true });
    expect(repaired.report.repairs).toMatchObject({ tasks: 6, records: 2, skippedTotal: 0 });
    await f.stop();
    await f.start();
    const after = await f.compare();
    expect(after.report.entities[0]).toMatchObject({ records: 201, recordsMismatched: 0 });
    expect(after.code).toBe(0);
    // The shop-only row was adopted and went to the ERP; the deleted rows are back.
    expect(await sql(f.erp.url, `SELECT item_no, title, price FROM items WHERE item_no = 5000`)).toEqual([{ item_no: 5000, title: 'shop only', price: '3.50' }]);
    const io = bufferIo();
    expect(await runConflictsVerify({ config: f.configFile }, io)).toBe(0);
  }, 120_000);
});

describe('tandem compare: PostgreSQL ERP → PostgreSQL shop (range hashes pushed down)', () => {
  let f: Awaited<ReturnType<typeof fixture>>;
  beforeAll(async () => {
    f = await fixture('pd', 'postgres', 5000);
    await f.start();
  }, 120_000);
  afterAll(async () => f?.cleanup());

  it('proves the agreeing ranges equal in the databases and reads only the differing ones', async () => {
    const agree = await f.compare();
    expect(agree.report.entities[0]).toMatchObject({ method: 'pushdown', records: 5000, rowsHashed: 5000, rowsRead: 0, recordsMismatched: 0 });
    expect(agree.code).toBe(0);

    await sql(f.shop.url, `UPDATE items SET title = 'drift ' || item_no WHERE item_no IN (1, 777, 2500, 4999)`);
    await sql(f.shop.url, `UPDATE items SET price = 0 WHERE item_no = 1234`);
    await sql(f.shop.url, `DELETE FROM items WHERE item_no IN (42, 5000)`);
    await sql(f.shop.url, `INSERT INTO items VALUES (0, 'below every key', 1, true), (9000, 'above every key', 2, false)`);
    // A block only the shop has: one range far larger there, split again before it is read.
    await sql(f.shop.url, `INSERT INTO items SELECT n, 'block', 1, false FROM generate_series(6000, 6149) n`);
    // Same raw text difference, same canonical value: the converter (trim) makes them agree.
    await sql(f.shop.url, `UPDATE items SET title = title || '   ' WHERE item_no = 3000`);
    await f.erpBehindTheBack(`UPDATE items SET price = 99.99 WHERE item_no = 60`);

    const found = await f.compare();
    const [product] = found.report.entities;
    const block = product!.differences.filter((d) => /^shop:6\d{3}$/.test(d.key));
    expect(block.map((d) => d.key).sort()).toEqual(Array.from({ length: 150 }, (_, i) => `shop:${6000 + i}`).sort());
    expect(block.every((d) => d.kind === 'unlinked')).toBe(true);
    const summary = product!.differences.filter((d) => !block.includes(d)).map((d) => `${d.kind} ${d.key} ${d.field ?? ''} ${d.wrong.join('+')}`).sort();
    expect(summary).toEqual([
      'field erp:1 title shop', 'field erp:1234 price shop', 'field erp:2500 title shop', 'field erp:4999 title shop',
      'field erp:60 price shop+canonical', 'field erp:777 title shop',
      'missing erp:42  shop', 'missing erp:5000  shop', 'unlinked shop:0  shop', 'unlinked shop:9000  shop',
    ]);
    expect(product).toMatchObject({ method: 'pushdown', recordsMismatched: 160 });
    expect(product!.rowsHashed).toBeGreaterThan(4000);
    expect(product!.rowsRead).toBeLessThan(2000);
    // The streamed baseline reads everything and finds the same.
    const streamed = await f.compare({ pushdown: false });
    expect(streamed.report.entities[0]!.differences.filter((d) => !/^shop:6\d{3}$/.test(d.key)).map((d) => `${d.kind} ${d.key} ${d.field ?? ''} ${d.wrong.join('+')}`).sort()).toEqual(summary);
    expect(streamed.report.entities[0]!.recordsMismatched).toBe(160);

    expect((await f.compare({ repair: true })).report.repairs).toMatchObject({ tasks: 160, skippedTotal: 0 });
    await f.stop();
    await f.start();
    const after = await f.compare();
    expect(after.report.entities[0]).toMatchObject({ recordsMismatched: 0 });
    expect(after.code).toBe(0);
    expect(await sql(f.shop.url, `SELECT price FROM items WHERE item_no IN (60, 1234) ORDER BY item_no`)).toEqual([{ price: '99.99' }, { price: '1542.50' }]);
  }, 120_000);

  it('the scheduled compare (reconcile) exports mismatched records and fields, the mismatch ratio and when it last completed', async () => {
    await sql(f.shop.url, `UPDATE items SET title = 'drift' WHERE item_no IN (10, 11, 12)`);
    await sql(f.shop.url, `UPDATE items SET price = 1 WHERE item_no = 12`);
    const loaded = parseConfig(`${readFileSync(f.configFile, 'utf8')}\nreconcile: { every: 200ms, entities: [product] }\n`, f.configFile, process.env);
    expect(loaded.config.reconcile).toEqual({ every: 200, entities: ['product'], repair: false });
    const registry = new Registry();
    const store = connectStateStore(f.state.url, 2);
    const abort = new AbortController();
    const log = memoryLogger();
    const value = async (name: string, labels: Record<string, string> = {}) => {
      const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
      const found = (metric?.values ?? []).find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
      return found?.value;
    };
    const loop = startReconcile({ loaded, store, env: process.env, logger: log.logger, metrics: createCompareMetrics(registry) }, abort.signal);
    try {
      for (let i = 0; i < 200 && !(await value('tandem_compare_last_completed_timestamp_seconds')); i++) await new Promise((r) => setTimeout(r, 100));
    } finally {
      abort.abort();
      await loop;
      await store.destroy();
    }
    expect(log.lines.length).toBeGreaterThan(0);
    for (const line of log.lines) expect(line).toContain('scheduled compare: systems differ');
    const records = (await value('tandem_compare_records', { entity: 'product' }))!;
    expect(records).toBeGreaterThanOrEqual(5000);
    expect(await value('tandem_compare_records_mismatched', { entity: 'product' })).toBe(3);
    expect(await value('tandem_compare_fields_mismatched', { entity: 'product', field: 'title' })).toBe(3);
    expect(await value('tandem_compare_fields_mismatched', { entity: 'product', field: 'price' })).toBe(1);
    expect(await value('tandem_compare_mismatch_ratio', { entity: 'product', field: 'title' })).toBeCloseTo(3 / records, 12);
    expect(await value('tandem_compare_mismatch_ratio', { entity: 'product', field: '*' })).toBeCloseTo(3 / records, 12);
    expect(Date.now() / 1000 - (await value('tandem_compare_last_completed_timestamp_seconds'))!).toBeLessThan(60);
    expect(await value('tandem_compare_duration_seconds', { entity: '*' })).toBeGreaterThan(0);
  }, 60_000);
});
