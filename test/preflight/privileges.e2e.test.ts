/**
 * The privilege checks against real servers, with users of their own that
 * may only read: on PostgreSQL no REPLICATION, no CREATE for the
 * publication, no replication origins, no writes; on MariaDB no REPLICATION
 * SLAVE / CLIENT and no right to set the session server_id. Each is an error
 * naming the user and the GRANT that fixes it. Then the same systems through
 * their admin users pass.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { runPreflight, type PreflightFinding } from '../../src/preflight';
import { createMysqlDatabase, createPgDatabase, requireEnv, TEST_ENV, uniqueName, type TestDatabase } from '../support';
import { exec } from '../e2e/harness';

const withUser = (url: string, user: string, password: string) => {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
};

function config(slot: string, mysqlDb: string): string {
  return `
stateStore: { url: { env: P_STATE_URL } }
pipeline: { allowNoRedis: true }
systems:
  erp:
    type: postgres
    url: { env: P_ERP_URL }
    capture: { slot: ${slot}, publication: ${slot} }
  shop:
    type: mysql
    url: { env: P_SHOP_URL }
    capture: { serverId: ${800_000 + (process.pid % 50_000)} }
    apply: { echoServerId: ${900_000 + (process.pid % 50_000)} }
entities:
  product: { owner: erp }
mappings:
  - { system: erp, table: items, entity: product, key: { columns: [item_no] }, fields: { sku: item_no, title: title } }
  - { system: shop, table: ${mysqlDb}.items, entity: product, key: { columns: [item_no] }, fields: { sku: item_no, title: title } }
`;
}

describe('preflight privilege checks (PostgreSQL, MariaDB)', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const mysqlAdminUrl = requireEnv(TEST_ENV.mysql);
  const role = uniqueName('ck_reader');
  const password = 'reader-pw-1';
  const slot = uniqueName('ck_priv');
  let erp: TestDatabase;
  let state: TestDatabase;
  let shop: TestDatabase;

  beforeAll(async () => {
    [erp, state, shop] = await Promise.all([createPgDatabase('ck_priv_erp', adminUrl), createPgDatabase('ck_priv_state', adminUrl), createMysqlDatabase('ck_priv_shop', mysqlAdminUrl)]);
    await exec(erp.url, 'CREATE TABLE items (item_no varchar(40) PRIMARY KEY, title varchar(200))', 'ALTER TABLE items REPLICA IDENTITY FULL',
      `CREATE ROLE ${role} LOGIN PASSWORD '${password}'`, `GRANT SELECT ON items TO ${role}`, `REVOKE CREATE ON DATABASE "${erp.name}" FROM PUBLIC`);
    const admin = await mysql.createConnection(mysqlAdminUrl);
    try {
      await admin.query(`CREATE TABLE \`${shop.name}\`.items (item_no varchar(40) PRIMARY KEY, title varchar(200))`);
      await admin.query(`CREATE USER '${role}'@'%' IDENTIFIED BY '${password}'`);
      await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${shop.name}\`.* TO '${role}'@'%'`);
    } finally {
      await admin.end();
    }
  });

  afterAll(async () => {
    await Promise.all([erp?.drop(), state?.drop(), shop?.drop()]);
    await exec(adminUrl, `DROP ROLE IF EXISTS ${role}`);
    const admin = await mysql.createConnection(mysqlAdminUrl);
    await admin.query(`DROP USER IF EXISTS '${role}'@'%'`).finally(() => admin.end());
  });

  const check = async (erpUrl: string, shopUrl: string) => {
    const env = { P_STATE_URL: state.url, P_ERP_URL: erpUrl, P_SHOP_URL: shopUrl };
    return (await runPreflight(parseConfig(config(slot, shop.name), '/virtual/priv.yaml', env), { env })).findings;
  };
  const messages = (findings: PreflightFinding[], system: string, check: string) =>
    findings.filter((f) => f.system === system && f.check === check).map((f) => `${f.message} | ${f.fix}`);

  it('a read-only user: every missing right is an error naming the user and the fix', async () => {
    const findings = await check(withUser(erp.url, role, password), withUser(shop.url, role, password));
    const pg = messages(findings, 'erp', 'privilege');
    expect(pg).toContainEqual(expect.stringMatching(new RegExp(`^${role} has neither the REPLICATION attribute nor superuser.*\\| ALTER ROLE ${role} REPLICATION$`)));
    expect(pg).toContainEqual(expect.stringMatching(new RegExp(`^${role} may not use replication origins.*GRANT EXECUTE ON FUNCTION pg_replication_origin_create\\(text\\)`)));
    expect(pg).toContainEqual(expect.stringMatching(new RegExp(`^${role} may not INSERT, UPDATE public\\.items.*\\| GRANT INSERT, UPDATE ON public\\.items TO ${role}$`)));
    expect(messages(findings, 'erp', 'publication')).toEqual([
      `publication ${slot} does not exist and ${role} cannot create it: it has no CREATE privilege on database ${erp.name}; it does not own public.items | CREATE PUBLICATION ${slot} FOR TABLE public.items (as the tables' owner or a superuser)`,
    ]);
    const my = messages(findings, 'shop', 'privilege');
    expect(my).toContainEqual(expect.stringMatching(/lacks REPLICATION SLAVE: it cannot read the binlog \| GRANT REPLICATION SLAVE ON \*\.\* TO /));
    expect(my).toContainEqual(expect.stringMatching(/lacks REPLICATION CLIENT/));
    expect(my).toContainEqual(expect.stringMatching(/apply\.echoServerId is set but .* may not set its session server_id/));
    // No password in any finding.
    expect(JSON.stringify(findings)).not.toContain(password);
  });

  it('the admin users pass', async () => {
    const findings = await check(erp.url, shop.url);
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
  });
});
