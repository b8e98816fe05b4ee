/**
 * config/demo.yaml, the reference configuration, passes the preflight against
 * databases made with the demo's schema: every mapped table and column
 * exists, every type holds what the other side sends, every captured table
 * has REPLICA IDENTITY FULL. Nothing is created by the check.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { createDemoSchemas } from '../../src/demo';
import { runPreflight } from '../../src/preflight';
import { createPgDatabase, requireEnv, TEST_ENV, type TestDatabase } from '../support';
import { sql } from '../e2e/harness';

describe('config/demo.yaml against the demo schema', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  let erp: TestDatabase;
  let crm: TestDatabase;
  let state: TestDatabase;

  beforeAll(async () => {
    [erp, crm, state] = await Promise.all([createPgDatabase('pf_demo_erp', adminUrl), createPgDatabase('pf_demo_crm', adminUrl), createPgDatabase('pf_demo_state', adminUrl)]);
    await createDemoSchemas(erp.url, crm.url);
  });
  afterAll(async () => {
    await Promise.all([erp?.drop(), crm?.drop(), state?.drop()]);
  });

  it('passes with no error and no warning, and creates nothing', async () => {
    const env = { TANDEM_STATE_URL: state.url, ERP_DATABASE_URL: erp.url, CRM_DATABASE_URL: crm.url };
    const loaded = parseConfig(readFileSync('config/demo.yaml', 'utf8'), 'config/demo.yaml', env);
    const result = await runPreflight(loaded, { env });
    expect(result.findings).toEqual([]);
    for (const db of [erp, crm]) {
      expect(await sql(db.url, 'SELECT pubname FROM pg_publication')).toEqual([]);
      expect(await sql(db.url, `SELECT slot_name FROM pg_replication_slots WHERE database = current_database()`)).toEqual([]);
    }
  });
});
