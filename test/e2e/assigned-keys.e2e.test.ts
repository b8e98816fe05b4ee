/**
 * Keys the owner assigns, end to end: accounts created in the CRM
 * (PostgreSQL, captured) get their ERP customer number (MariaDB, a target)
 * from a sequence with a format, and the number flows back to the CRM row.
 * The allocation is kept before the insert, so an insert refused (or cut
 * short by a restart) and retried later uses the same number: no second
 * row, no number spent twice.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { createMysqlDatabase, createPgDatabase, flushPrefix, requireEnv, TEST_ENV, type TestDatabase } from '../support';
import { dropOrigins, exec, freshNames, memoryLogger, sql, type Names } from './harness';

const CRM_DDL = `
CREATE TABLE accounts (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_name text NOT NULL,
  erp_number   text
);
ALTER TABLE accounts REPLICA IDENTITY FULL;
-- Every write of an ERP number into an account (not published): how often each account got its number.
CREATE TABLE number_writes (account uuid NOT NULL, erp_number text);
CREATE FUNCTION log_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO number_writes VALUES (NEW.id, NEW.erp_number);
  RETURN NULL;
END $$;
CREATE TRIGGER accounts_number AFTER UPDATE OF erp_number ON accounts FOR EACH ROW EXECUTE FUNCTION log_number();
`;

function config(names: Names, erpDb: string): string {
  return `
stateStore: { url: { env: E2E_STATE_URL }, schema: ${names.schema} }
redis: { url: { env: E2E_REDIS_URL }, keyPrefix: "${names.redisPrefix}" }
systems:
  erp:
    type: mysql
    url: { env: E2E_ERP_URL }
    apply: { poolSize: 2 }
  crm:
    type: postgres
    url: { env: E2E_CRM_URL }
    capture: { slot: ${names.crmSlot}, publication: ${names.crmSlot}, heartbeatMs: 200, maxBatchDelayMs: 10 }
    apply: { origin: ${names.origin}, poolSize: 2 }
entities:
  customer:
    owner: erp
    create: [erp, crm]
    fields:
      name: { owner: crm }
mappings:
  - system: erp
    table: ${erpDb}.customers
    entity: customer
    key: { columns: [cust_no], generated: { sequence: cust_seq, format: "C{00000}" } }
    fields: { number: cust_no, name: name }
  - system: crm
    table: public.accounts
    entity: customer
    key: { columns: [id], generated: uuid }
    fields: { number: erp_number, name: account_name }
pipeline: { applyPollMs: 20, leaseMs: 5000, maxAttempts: 3 }
metrics: { port: 0 }
log: { level: warn }
`;
}

describe('keys the ERP assigns (MariaDB sequence with a format → PostgreSQL CRM)', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const redisUrl = requireEnv(TEST_ENV.redis);
  const mysqlAdminUrl = requireEnv(TEST_ENV.mysql);
  const names = freshNames('keys');
  const log = memoryLogger();
  let crmDb: TestDatabase;
  let state: TestDatabase;
  let erpDb: TestDatabase;
  let conn: mysql.Connection;
  let env: Record<string, string>;
  let pipeline: RunningPipeline | undefined;

  const crm = (text: string, params: unknown[] = []) => sql(crmDb.url, text, params);
  const erpRows = async () => (await conn.query<mysql.RowDataPacket[]>('SELECT cust_no, name FROM customers ORDER BY cust_no'))[0].map((r) => ({ ...r }));
  const start = async () => {
    await pipeline?.stop();
    pipeline = await startPipeline(parseConfig(config(names, erpDb.name), '/virtual/keys.yaml', env), { env, logger: log.logger, instanceId: 'keys-test' });
  };
  const drain = async () => {
    try {
      await pipeline!.drain({ timeoutMs: 30_000 });
    } catch (error) {
      throw new Error(`${(error as Error).message}\npipeline log:\n${log.lines.join('\n')}`);
    }
  };
  const newAccount = async (name: string): Promise<string> => {
    const [row] = await crm('INSERT INTO accounts (account_name) VALUES ($1) RETURNING id', [name]);
    await drain();
    return row!.id as string;
  };
  const numberOf = async (id: string) => (await crm('SELECT erp_number FROM accounts WHERE id = $1', [id]))[0]!.erp_number as string | null;

  beforeAll(async () => {
    [crmDb, state, erpDb] = await Promise.all([
      createPgDatabase('e2e_keys_crm', adminUrl),
      createPgDatabase('e2e_keys_state', adminUrl),
      createMysqlDatabase('e2e_keys_erp', mysqlAdminUrl),
    ]);
    await exec(crmDb.url, CRM_DDL);
    conn = await mysql.createConnection({ uri: erpDb.url });
    await conn.query('CREATE SEQUENCE cust_seq START WITH 1 INCREMENT BY 1');
    await conn.query(`CREATE TABLE customers (
      cust_no char(6) PRIMARY KEY,
      name    varchar(100) NOT NULL,
      CONSTRAINT name_accepted CHECK (name <> 'Refused Ltd')
    ) CHARACTER SET utf8mb4`);
    env = { E2E_STATE_URL: state.url, E2E_ERP_URL: erpDb.url, E2E_CRM_URL: crmDb.url, E2E_REDIS_URL: redisUrl };
    await start();
    await drain();
  });

  afterAll(async () => {
    await pipeline?.stop();
    await conn?.end();
    await Promise.all([crmDb?.drop(), state?.drop(), erpDb?.drop()]);
    await dropOrigins(adminUrl, names.origin);
    await flushPrefix(redisUrl, names.redisPrefix);
  });

  it('a CRM-created account gets the next ERP number, formatted, and the CRM row shows it', async () => {
    const alpha = await newAccount('Alpha GmbH');
    expect(await erpRows()).toEqual([{ cust_no: 'C00001', name: 'Alpha GmbH' }]);
    expect(await numberOf(alpha)).toBe('C00001');
  });

  it('an insert refused after its number was allocated keeps that number across a restart: one row, no number spent twice', async () => {
    const refused = await newAccount('Refused Ltd');
    expect(await erpRows()).toEqual([{ cust_no: 'C00001', name: 'Alpha GmbH' }]);
    expect(await numberOf(refused)).toBeNull();
    const allocations = await sql(state.url, `SELECT local_key FROM ${names.schema}.key_allocations WHERE canonical_key = $1`, [`crm:${refused}`]);
    expect(allocations).toEqual([{ local_key: 'C00002' }]);

    await pipeline!.stop();
    pipeline = undefined;
    await crm('UPDATE accounts SET account_name = $1 WHERE id = $2', ['Beta Ltd', refused]); // corrected at source while tandem is down
    await start();
    await drain();
    expect(await erpRows()).toEqual([{ cust_no: 'C00001', name: 'Alpha GmbH' }, { cust_no: 'C00002', name: 'Beta Ltd' }]);
    expect(await numberOf(refused)).toBe('C00002');

    const gamma = await newAccount('Gamma AG');
    expect(await numberOf(gamma)).toBe('C00003');
    expect(await erpRows()).toHaveLength(3);
    // Each account got its number written exactly once.
    const writes = await crm('SELECT erp_number, count(*)::int AS n FROM number_writes GROUP BY erp_number ORDER BY erp_number');
    expect(writes).toEqual([{ erp_number: 'C00001', n: 1 }, { erp_number: 'C00002', n: 1 }, { erp_number: 'C00003', n: 1 }]);
    const records = await sql(state.url, `SELECT fields ->> 'number' AS number FROM ${names.schema}.records ORDER BY 1`);
    expect(records.map((r) => r.number)).toEqual(['C00001', 'C00002', 'C00003']);
  });
});
