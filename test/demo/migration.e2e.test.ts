/**
 * The migration scenario end to end on the real test servers: the old ERP on
 * MariaDB (binlog capture), the new ERP behind the demo's REST server, the
 * CRM and the state store on PostgreSQL. All three are edited at once, wave 1
 * (credit) moves from the old ERP to the new one a few seconds in, customers
 * are merged in the old ERP; after the drain the three systems must agree
 * (compare for the databases, the API for the new ERP), the merges must have
 * left no orphaned order, and the old ERP's credit edits must have been
 * accepted before the cutover and rejected after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationNames, runMigrationScenario, SaasServer, type MigrationSystems, type ScenarioOutcome } from '../../src/demo';
import { createMysqlDatabase, createPgDatabase, requireEnv, TEST_ENV, type TestDatabase } from '../support';
import { dropOrigins, memoryLogger, sql } from '../e2e/harness';

describe('tandem demo --scenario migration: three systems, a cutover and merges', () => {
  const pgAdminUrl = requireEnv(TEST_ENV.pg);
  const mysqlAdminUrl = requireEnv(TEST_ENV.mysql);
  const names = migrationNames();
  const log = memoryLogger();
  const printed: string[] = [];
  let erpOld: TestDatabase;
  let crm: TestDatabase;
  let state: TestDatabase;
  let rest: SaasServer;
  let outcome: ScenarioOutcome;
  const explain = () => `${printed.join('\n')}\npipeline log (last lines):\n${log.lines.slice(-30).join('\n')}`;

  beforeAll(async () => {
    [erpOld, crm, state] = await Promise.all([
      createMysqlDatabase('e2e_mig_erp_old', mysqlAdminUrl),
      createPgDatabase('e2e_mig_crm', pgAdminUrl),
      createPgDatabase('e2e_mig_state', pgAdminUrl),
    ]);
    rest = await SaasServer.start();
    const systems: MigrationSystems = { erpOldUrl: erpOld.url, erpOldDatabase: erpOld.name, crmUrl: crm.url, stateUrl: state.url, erpNewUrl: rest.url };
    try {
      outcome = await runMigrationScenario(systems, { ...names, erpOldDatabase: erpOld.name }, {
        seconds: 14, cutoverAfterSeconds: 5, seed: 7, rate: 45, merges: 3,
        print: (line) => printed.push(line), logger: log.logger, env: process.env,
      });
    } catch (error) {
      throw new Error(`the scenario failed: ${error instanceof Error ? error.message : String(error)}\n${explain()}`);
    }
  }, 600_000);

  afterAll(async () => {
    await rest?.close();
    await Promise.all([erpOld?.drop(), crm?.drop(), state?.drop()]);
    await dropOrigins(pgAdminUrl, names.origin);
  });


  it('the three systems converge under concurrent edits on all of them', () => {
    const { verdict, workload } = outcome;
    expect(workload.counts['erp_old.credit'] ?? 0, explain()).toBeGreaterThan(10);
    expect(workload.counts['crm.email'] ?? 0).toBeGreaterThan(5);
    expect(workload.counts['erp_new.dunning'] ?? 0).toBeGreaterThan(5);
    expect(verdict.compare.agreed, explain()).toBe(true);
    expect(verdict.rest.problems, explain()).toBe(0);
    expect(verdict.rest.fieldsCompared).toBeGreaterThan(1000);
    expect(verdict.ok, explain()).toBe(true);
  });

  it('the cutover: the old ERP\'s credit edits stand before it and are rejected after it', () => {
    const { cutover } = outcome.verdict;
    expect(cutover.editsBefore, explain()).toBeGreaterThan(0);
    expect(cutover.editsAfter, explain()).toBeGreaterThan(0);
    expect(cutover.rejectedBefore).toBe(0);
    expect(cutover.rejectedAfter).toBeGreaterThan(0);
    expect(cutover.ok, explain()).toBe(true);
  });

  it('every merge is logged, the loser is gone everywhere and no order points at it', async () => {
    const { merges } = outcome.verdict;
    expect(merges.count, explain()).toBe(3);
    expect(merges.logged).toBe(3);
    expect(merges.problems, explain()).toEqual([]);
    const losers = outcome.workload.merges.map((m) => Number(m.loser));
    // The CRM has no account left for a loser, and its orders all point at live accounts (its foreign key), none at a loser's link.
    const orphans = await sql(state.url, `SELECT count(*)::int AS n FROM tandem.crosswalk x JOIN tandem.merges m ON m.entity = x.entity AND m.loser_key = x.canonical_key
      WHERE x.retired_at IS NULL`);
    expect(orphans[0]!.n).toBe(0);
    const crmLosers = await sql(state.url, `SELECT x.local_key FROM tandem.crosswalk x JOIN tandem.merges m ON m.entity = x.entity AND m.loser_key = x.canonical_key WHERE x.system = 'crm'`);
    for (const { local_key } of crmLosers) {
      expect(await sql(crm.url, 'SELECT id FROM accounts WHERE id = $1', [local_key])).toEqual([]);
      expect(await sql(crm.url, 'SELECT id FROM orders WHERE account_id = $1', [local_key])).toEqual([]);
    }
    expect(losers.length).toBe(3);
  });
});
