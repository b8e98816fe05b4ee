/**
 * An ownership cutover on real PostgreSQL: customer.credit_limit moves from
 * the ERP to the CRM at `wave1`, a few seconds after the pipeline starts.
 * Before it the CRM's edits are rejected and corrected; after it the ERP's
 * are, and the CRM's reach the ERP. email (owned by the CRM throughout) and
 * name (latest-wins) are not touched by the cutover. Every conflict is logged
 * under the rule version in force at its source commit time, and the hash
 * chain verifies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { connectStateStore, verifyConflictChain } from '../../src/store';
import { createWorld, memoryLogger, sql, twoWayConfig, type TwoWayWorld } from './harness';

/** Far enough ahead that the edits meant to come before it are committed before it, even on a loaded machine. */
const CUTOVER_AFTER_MS = 12_000;

function cutoverConfig(world: TwoWayWorld, at: string): string {
  const base = twoWayConfig({ names: world.names });
  const versioned = base
    .replace('      credit_limit: { owner: erp }\n', '      credit_limit:\n        owner:\n          - { system: erp }\n          - { system: crm, from: wave1 }\n')
    .replace('entities:\n', `cutovers:\n  wave1: { at: "${at}" }\nentities:\n`);
  if (!versioned.includes('from: wave1') || !versioned.includes('cutovers:')) throw new Error('the e2e harness config changed shape; update this test');
  return versioned;
}

describe('ownership cutover (PostgreSQL ERP and CRM, Redis)', () => {
  let world: TwoWayWorld;
  let pipeline: RunningPipeline | undefined;
  let cutoverMs: number;
  const log = memoryLogger();
  const erp = (text: string, params: unknown[] = []) => sql(world.erp.url, text, params);
  const crm = (text: string, params: unknown[] = []) => sql(world.crm.url, text, params);
  const state = (text: string, params: unknown[] = []) => sql(world.state.url, text, params);
  const drain = async () => {
    await pipeline!.drain({ timeoutMs: 30_000 });
    await pipeline!.drain({ timeoutMs: 30_000 });
  };

  beforeAll(async () => {
    world = await createWorld('cutover');
    // Whole seconds, as an operator would write it; the server's clock makes the commit times.
    const [{ now }] = (await erp('SELECT extract(epoch FROM clock_timestamp()) * 1000 AS now')) as [{ now: string }];
    cutoverMs = Math.ceil((Number(now) + CUTOVER_AFTER_MS) / 1000) * 1000;
    const loaded = parseConfig(cutoverConfig(world, new Date(cutoverMs).toISOString()), '/virtual/cutover.yaml', world.env);
    pipeline = await startPipeline(loaded, { env: world.env, logger: log.logger, instanceId: 'cutover-test' });
    await drain();
  }, 60_000);

  afterAll(async () => {
    await pipeline?.stop();
    await world?.cleanup();
  });

  it('flips credit_limit, and only credit_limit, at the cutover; conflicts carry the rule version in force at their commit time', async () => {
    const [customer] = await erp(`INSERT INTO customers (name, email, credit_limit) VALUES ('Cut Co', 'a@cut.test', 100) RETURNING cust_no`);
    const custNo = customer!.cust_no as string;
    await drain();
    const [link] = await state(`SELECT local_key FROM ${world.names.schema}.crosswalk WHERE entity = 'customer' AND system = 'crm' AND canonical_key = $1`, [`erp:${custNo}`]);
    const accountId = link!.local_key as string;
    const erpRow = async () => (await erp('SELECT name, email, credit_limit FROM customers WHERE cust_no = $1', [custNo]))[0]!;
    const crmRow = async () => (await crm('SELECT account_name AS name, email, credit_limit FROM accounts WHERE id = $1', [accountId]))[0]!;

    // Before wave1: the ERP owns credit_limit, the CRM email.
    await crm('UPDATE accounts SET credit_limit = 200 WHERE id = $1', [accountId]);
    await drain();
    await erp('UPDATE customers SET credit_limit = 150, email = $2 WHERE cust_no = $1', [custNo, 'erp-before@cut.test']);
    await drain();
    await crm('UPDATE accounts SET account_name = $2 WHERE id = $1', [accountId, 'Cut Co (CRM)']);
    await drain();
    expect(await erpRow()).toEqual({ name: 'Cut Co (CRM)', email: 'a@cut.test', credit_limit: '150.00' });
    expect(await crmRow()).toEqual({ name: 'Cut Co (CRM)', email: 'a@cut.test', credit_limit: '150.00' });

    const waitMs = cutoverMs + 1_000 - Date.now();
    expect(waitMs, 'the edits before the cutover took longer than the margin').toBeGreaterThan(1_000);
    await new Promise((resolve) => setTimeout(resolve, waitMs));

    // After wave1: the CRM owns credit_limit; email and name are decided as before.
    await erp('UPDATE customers SET credit_limit = 300, email = $2 WHERE cust_no = $1', [custNo, 'erp-after@cut.test']);
    await drain();
    await crm('UPDATE accounts SET credit_limit = 400 WHERE id = $1', [accountId]);
    await drain();
    await erp('UPDATE customers SET name = $2 WHERE cust_no = $1', [custNo, 'Cut Co (ERP)']);
    await drain();
    expect(await erpRow()).toEqual({ name: 'Cut Co (ERP)', email: 'a@cut.test', credit_limit: '400.00' });
    expect(await crmRow()).toEqual({ name: 'Cut Co (ERP)', email: 'a@cut.test', credit_limit: '400.00' });

    const conflicts = await state(
      `SELECT system, field, attempted, kept_value, rule, rule_version, decision, corrected, commit_time FROM ${world.names.schema}.conflicts
        WHERE entity = 'customer' ORDER BY id`);
    expect(conflicts.map(({ commit_time: _time, ...row }) => row)).toEqual([
      { system: 'crm', field: 'credit_limit', attempted: '200.00', kept_value: '100.00', rule: 'customer.credit_limit@initial owner=erp', rule_version: 'customer.credit_limit@initial', decision: 'rejected', corrected: true },
      { system: 'erp', field: 'email', attempted: 'erp-before@cut.test', kept_value: 'a@cut.test', rule: 'customer.email owner=crm', rule_version: null, decision: 'rejected', corrected: true },
      { system: 'erp', field: 'email', attempted: 'erp-after@cut.test', kept_value: 'a@cut.test', rule: 'customer.email owner=crm', rule_version: null, decision: 'rejected', corrected: true },
      { system: 'erp', field: 'credit_limit', attempted: '300.00', kept_value: '150.00', rule: 'customer.credit_limit@wave1 owner=crm', rule_version: 'customer.credit_limit@wave1', decision: 'rejected', corrected: true },
    ]);
    const times = conflicts.map((c) => new Date(c.commit_time as string).getTime());
    expect(times.slice(0, 2).every((t) => t < cutoverMs)).toBe(true);
    expect(times.slice(2).every((t) => t >= cutoverMs)).toBe(true);

    const store = connectStateStore(world.state.url, 1);
    try {
      expect(await verifyConflictChain(store, world.names.schema)).toMatchObject({ ok: true, rows: 4 });
    } finally {
      await store.destroy();
    }
  }, 120_000);
});
