/**
 * The state store's connections terminated again and again under load
 * (pg_terminate_backend on every session of the state-store database): the
 * source and apply loops retry with backoff instead of ending, and afterwards
 * every ERP change is in the CRM exactly once (the CRM's trigger-fed write log).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { requireEnv, TEST_ENV } from '../support';
import { createWorld, memoryLogger, sql, twoWayConfig, type TwoWayWorld } from '../e2e/harness';

describe('state-store connections terminated under load', () => {
  let world: TwoWayWorld;
  let pipeline: RunningPipeline | undefined;
  const log = memoryLogger();
  const adminUrl = requireEnv(TEST_ENV.pg);

  const erp = (text: string, params: unknown[] = []) => sql(world.erp.url, text, params);
  const crm = (text: string, params: unknown[] = []) => sql(world.crm.url, text, params);
  const terminateStateStoreSessions = async () => {
    const [row] = await sql(adminUrl,
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [world.state.name]);
    return row!.n as number;
  };

  beforeAll(async () => {
    world = await createWorld('storeblip');
    const loaded = parseConfig(twoWayConfig({ names: world.names, captureCrm: false }), '/virtual/store-blips.yaml', world.env);
    pipeline = await startPipeline(loaded, { env: world.env, logger: log.logger });
    await pipeline.drain({ timeoutMs: 30_000 });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await world?.cleanup();
  });

  it('survives 8 rounds of terminated sessions and applies every change once', async () => {
    let terminated = 0;
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < 20; i++) await erp('INSERT INTO customers (name, credit_limit) VALUES ($1, 1)', [`round ${round} customer ${i}`]);
      await erp(`UPDATE customers SET credit_limit = credit_limit + 1 WHERE name LIKE 'round ${round} %'`);
      terminated += await terminateStateStoreSessions();
    }
    try {
      await pipeline!.drain({ timeoutMs: 90_000 });
    } catch (error) {
      throw new Error(`${(error as Error).message}\npipeline log:\n${log.lines.join('\n')}`);
    }
    expect(terminated).toBeGreaterThan(0);
    const names = (await erp('SELECT name FROM customers ORDER BY name')).map((r) => r.name);
    expect(names).toHaveLength(160);
    expect((await crm('SELECT account_name FROM accounts ORDER BY account_name')).map((r) => r.account_name)).toEqual(names);
    expect(await crm(`SELECT credit_limit::text AS c, count(*)::int AS n FROM accounts GROUP BY 1`)).toEqual([{ c: '2.00', n: 160 }]);
    const [counts] = await crm(
      `SELECT count(*) FILTER (WHERE op = 'INSERT')::int AS inserts, count(*) FILTER (WHERE op = 'UPDATE')::int AS updates FROM write_log WHERE tbl = 'accounts'`);
    expect(counts).toEqual({ inserts: 160, updates: 160 });
  });
});
