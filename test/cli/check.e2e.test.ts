/**
 * `tandem check` and the preflight of `tandem run` against real PostgreSQL,
 * MariaDB and Redis: a missing column, a varchar shorter than the other
 * system's, a table without REPLICA IDENTITY FULL and an unfillable NOT NULL
 * column are reported with exit 2 — by `tandem run` before anything is
 * captured (no slot, no publication) — and once the schemas are fixed both
 * pass with exit 0.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreflightFinding, PreflightReport } from '../../src/preflight';
import { connectTo } from '../capture/mysql/helpers';
import { createMysqlDatabase, createPgDatabase, requireEnv, TEST_ENV, uniqueName, type TestDatabase } from '../support';
import { runTandem } from '../e2e/child';
import { exec, sql } from '../e2e/harness';

const ERP_DDL = `
CREATE TABLE customers (
  cust_no  char(5) PRIMARY KEY,
  name     text NOT NULL,
  phone    varchar(24),
  region   text NOT NULL
);`;

const CRM_DDL = `
CREATE TABLE accounts (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  cust_no      char(5),
  account_name text NOT NULL,
  email        text,
  phone        varchar(30)
);
ALTER TABLE accounts REPLICA IDENTITY FULL;`;

const SHOP_DDL = `CREATE TABLE items (
  item_no varchar(40) PRIMARY KEY,
  title   varchar(200),
  price   decimal(18,4),
  warehouse varchar(10) NOT NULL
) CHARACTER SET utf8mb4`;

const PG_ITEMS = `CREATE TABLE items (item_no varchar(40) PRIMARY KEY, title varchar(120), price numeric(12,2));
ALTER TABLE items REPLICA IDENTITY FULL;`;

function config(slot: string, shopDb: string, serverId: number): string {
  return `
stateStore: { url: { env: CK_STATE_URL }, schema: tandem_check }
redis: { url: { env: CK_REDIS_URL }, keyPrefix: "${slot}:" }
systems:
  erp:
    type: postgres
    url: { env: CK_ERP_URL }
    capture: { slot: ${slot}_erp, publication: ${slot}_erp }
    apply: { origin: ${slot} }
  crm:
    type: postgres
    url: { env: CK_CRM_URL }
    capture: { slot: ${slot}_crm, publication: ${slot}_crm }
    apply: { origin: ${slot} }
  shop:
    type: mysql
    url: { env: CK_SHOP_URL }
    capture: { serverId: ${serverId} }
entities:
  customer:
    owner: erp
    fields:
      name: { policy: latest-wins }
      email: { owner: crm }
      phone: { owner: crm }
  product:
    owner: shop
mappings:
  - system: erp
    table: customers
    entity: customer
    key: { columns: [cust_no] }
    fields: { cust_no: cust_no, name: name, email: email, phone: phone }
  - system: crm
    table: accounts
    entity: customer
    key: { columns: [id], generated: uuid }
    fields: { cust_no: cust_no, name: account_name, email: email, phone: phone }
  - system: shop
    table: ${shopDb}.items
    entity: product
    key: { columns: [item_no] }
    fields: { sku: item_no, title: title, price: price }
  - system: erp
    table: items
    entity: product
    key: { columns: [item_no] }
    fields: { sku: item_no, title: title, price: price }
metrics: { port: 0 }
log: { level: warn }
`;
}

describe('tandem check and the preflight of tandem run', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const mysqlAdminUrl = requireEnv(TEST_ENV.mysql);
  const redisUrl = requireEnv(TEST_ENV.redis);
  const slot = uniqueName('ck');
  let erp: TestDatabase;
  let crm: TestDatabase;
  let state: TestDatabase;
  let shop: TestDatabase;
  let conn: mysql.Connection;
  let dir: string;
  let file: string;
  let env: Record<string, string>;

  const findings = async (): Promise<{ code: number | null; report: PreflightReport }> => {
    const r = await runTandem(['check', '--config', file, '--format', 'json'], env, 60_000);
    expect(r.stderr).toBe('');
    return { code: r.code, report: JSON.parse(r.stdout) as PreflightReport };
  };
  const find = (report: PreflightReport, check: string, system: string, column: string | null = null): PreflightFinding | undefined =>
    report.findings.find((f) => f.check === check && f.system === system && (column === null || f.column === column));
  const nothingCaptured = async () => {
    for (const db of [erp, crm]) {
      expect(await sql(db.url, 'SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE $1', [`${slot}%`])).toEqual([]);
      expect(await sql(db.url, 'SELECT pubname FROM pg_publication')).toEqual([]);
    }
    expect(await sql(state.url, `SELECT 1 FROM pg_namespace WHERE nspname = 'tandem_check'`)).toEqual([]);
  };

  beforeAll(async () => {
    [erp, crm, state, shop] = await Promise.all([
      createPgDatabase('ck_erp', adminUrl), createPgDatabase('ck_crm', adminUrl), createPgDatabase('ck_state', adminUrl),
      createMysqlDatabase('ck_shop', mysqlAdminUrl),
    ]);
    await exec(erp.url, ERP_DDL, PG_ITEMS);
    await exec(crm.url, CRM_DDL);
    conn = await connectTo(shop.url);
    await conn.query(SHOP_DDL);
    dir = mkdtempSync(join(tmpdir(), 'tandem-check-'));
    file = join(dir, 'tandem.yaml');
    writeFileSync(file, config(slot, shop.name, 500_000 + (process.pid % 50_000)));
    env = { CK_STATE_URL: state.url, CK_ERP_URL: erp.url, CK_CRM_URL: crm.url, CK_SHOP_URL: shop.url, CK_REDIS_URL: redisUrl };
  });

  afterAll(async () => {
    await conn?.end();
    await Promise.all([erp?.drop(), crm?.drop(), state?.drop(), shop?.drop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('tandem run refuses to start, exit 2, and captures nothing', async () => {
    const r = await runTandem(['run', '--config', file], env, 60_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the preflight found \d+ errors \(see tandem check\): not starting, nothing was captured/);
    expect(r.stderr).toMatch(/email \(field email\) does not exist/);
    await nothingCaptured();
  });

  it('tandem check names each problem with its system, table, column and what to do', async () => {
    const { code, report } = await findings();
    expect(code).toBe(2);
    expect(find(report, 'column', 'erp', 'email')).toMatchObject({ severity: 'error', table: 'customers', fix: expect.stringContaining('mappings[0].fields.email') });
    expect(find(report, 'capacity', 'erp', 'phone')).toMatchObject({
      severity: 'warning', table: 'customers',
      message: 'crm.accounts.phone character varying(30) → erp.customers.phone character varying(24): values longer than 24 characters will be rejected',
    });
    // name is latest-wins: the ERP table's changes are decided with before-images.
    expect(find(report, 'replica-identity', 'erp')).toMatchObject({ severity: 'error', table: 'customers', fix: 'ALTER TABLE public.customers REPLICA IDENTITY FULL' });
    expect(find(report, 'replica-identity', 'erp')?.message).toMatch(/customer\.name is latest-wins/);
    expect(find(report, 'not-null', 'erp', 'region')).toMatchObject({ severity: 'error', message: expect.stringContaining('no mapping fills it') });
    expect(find(report, 'not-null', 'shop', 'warehouse')).toMatchObject({ severity: 'error' });
    // MariaDB → PostgreSQL: a shorter title and a narrower price.
    expect(find(report, 'capacity', 'erp', 'title')?.message).toBe(`shop.${shop.name}.items.title varchar(200) → erp.items.title character varying(120): values longer than 120 characters will be rejected`);
    expect(find(report, 'capacity', 'erp', 'price')?.message).toMatch(/decimal\(18,4\) → erp\.items\.price numeric\(12,2\): values of more than 10 integer digits will be rejected; digits beyond the 2\. decimal are rounded/);
    // The clean parts are not reported: the binlog is set up, Redis answers.
    expect(report.findings.filter((f) => f.check === 'binlog' || f.system === 'redis' || f.system === 'stateStore')).toEqual([]);
    await nothingCaptured();

    const table = await runTandem(['check', '--config', file], env, 60_000);
    expect(table.code).toBe(2);
    expect(table.stdout).toMatch(/^severity\s+system\s+where\s+check\s+finding$/m);
    expect(table.stdout).toMatch(/^\s+→ add the column, or correct mappings\[0\]\.fields\.email$/m);
    expect(table.stdout).toMatch(/^error\s+erp\s+customers\.email\s+column\s+column email \(field email\) does not exist/m);
    expect(table.stdout).toMatch(/^\d+ errors, \d+ warnings$/m);
  });

  it('once the schemas are fixed, check passes with exit 0', async () => {
    await exec(erp.url,
      'ALTER TABLE customers ADD COLUMN email text', 'ALTER TABLE customers ALTER COLUMN phone TYPE varchar(30)',
      `ALTER TABLE customers ALTER COLUMN region SET DEFAULT 'n/a'`, 'ALTER TABLE customers REPLICA IDENTITY FULL',
      'ALTER TABLE items ALTER COLUMN title TYPE varchar(200)', 'ALTER TABLE items ALTER COLUMN price TYPE numeric(18,4)');
    await conn.query(`ALTER TABLE items MODIFY warehouse varchar(10) NOT NULL DEFAULT 'main'`);
    const { code, report } = await findings();
    expect(report.findings).toEqual([]);
    expect(code).toBe(0);
    const table = await runTandem(['check', '--config', file], env, 60_000);
    expect(table.stdout).toBe('every system, table and column checks out\n0 errors, 0 warnings\n');
    expect(table.code).toBe(0);
  });

  it('unreachable Redis and Kafka are errors naming them; with nothing else wrong that is a runtime failure, exit 1', async () => {
    const unreachable = join(dir, 'unreachable.yaml');
    writeFileSync(unreachable, `${config(slot, shop.name, 500_000 + (process.pid % 50_000))}kafka: { brokers: ["127.0.0.1:1"] }\n`);
    const r = await runTandem(['check', '--config', unreachable, '--format', 'json', '--timeout', '2000'], { ...env, CK_REDIS_URL: 'redis://127.0.0.1:1' }, 60_000);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as PreflightReport;
    expect(find(report, 'connect', 'redis')?.message).toMatch(/^Redis cannot be reached: /);
    expect(find(report, 'connect', 'kafka')?.message).toMatch(/^Kafka cannot be reached at 127\.0\.0\.1:1: /);
  });
});
