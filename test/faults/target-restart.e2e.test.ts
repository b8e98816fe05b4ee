/**
 * The target PostgreSQL stopped and started again (a real restart of a
 * private server, not only killed sessions) while ERP changes keep coming:
 * tasks wait for the target instead of becoming dead letters, /readyz says
 * the target is unreachable meanwhile, and afterwards every change is in the
 * CRM exactly once (its trigger-fed write log).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { waitFor } from '../support';
import { CRM_DDL, createWorld, exec, memoryLogger, sql, twoWayConfig, type TwoWayWorld } from '../e2e/harness';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres';

describe('target PostgreSQL restarted under load', () => {
  let world: TwoWayWorld;
  let target: PrivatePostgres;
  let crmUrl: string;
  let pipeline: RunningPipeline | undefined;
  let port: number;
  const log = memoryLogger();

  const erp = (text: string, params: unknown[] = []) => sql(world.erp.url, text, params);
  const crm = (text: string, params: unknown[] = []) => sql(crmUrl, text, params);
  const readyz = async () => {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: response.status, body: await response.text() };
  };
  const drain = async () => {
    try {
      await pipeline!.drain({ timeoutMs: 90_000 });
    } catch (error) {
      throw new Error(`${(error as Error).message}\npipeline log:\n${log.lines.slice(-30).join('\n')}`);
    }
  };
  const load = async (round: number) => {
    for (let i = 0; i < 25; i++) await erp('INSERT INTO customers (name, credit_limit) VALUES ($1, 10)', [`r${round} customer ${i}`]);
    await erp(`UPDATE customers SET name = name || ' (r${round})' WHERE cust_no IN (SELECT cust_no FROM customers ORDER BY cust_no LIMIT 10)`);
  };

  beforeAll(async () => {
    target = await startPrivatePostgres();
    crmUrl = await target.createDatabase('crm');
    await exec(crmUrl, CRM_DDL);
    world = await createWorld('pgrestart');
    world.env.E2E_CRM_URL = crmUrl;
    port = 20_000 + Math.floor(Math.random() * 10_000);
    // Few attempts, so that counting attempts during the outage would dead-letter the tasks.
    const yaml = twoWayConfig({ names: world.names, captureCrm: false })
      .replace('metrics:\n  port: 0', `metrics:\n  port: ${port}`)
      .replace('maxAttempts: 8', 'maxAttempts: 3');
    pipeline = await startPipeline(parseConfig(yaml, '/virtual/target-restart.yaml', world.env), { env: world.env, logger: log.logger });
    await drain();
  }, 180_000);

  afterAll(async () => {
    await pipeline?.stop();
    await world?.cleanup();
    await target?.destroy();
  });

  it('holds the tasks while the target is down and applies each change once after it returns', async () => {
    await load(1);
    await drain();

    await target.stop();
    await load(2);
    await waitFor(async () => (await readyz()).status === 503, { timeoutMs: 20_000, message: '/readyz did not turn 503 with the target down' });
    expect((await readyz()).body).toMatch(/apply:crm: degraded since \S+: target unreachable, tasks held/);
    await new Promise((r) => setTimeout(r, 4000)); // well past 3 attempts' backoff
    await target.start();
    await load(3);
    await drain();
    await waitFor(async () => (await readyz()).status === 200, { timeoutMs: 20_000, message: '/readyz did not return to 200' });

    const names = (await erp('SELECT name FROM customers ORDER BY name')).map((r) => r.name);
    expect(names).toHaveLength(75);
    expect((await crm('SELECT account_name FROM accounts ORDER BY account_name')).map((r) => r.account_name)).toEqual(names);
    expect(await crm(`SELECT op, row_key, new_value FROM write_log WHERE tbl = 'accounts' GROUP BY 1, 2, 3 HAVING count(*) > 1`)).toEqual([]);
    const [counts] = await crm(
      `SELECT count(*) FILTER (WHERE op = 'INSERT')::int AS inserts, count(*) FILTER (WHERE op = 'UPDATE')::int AS updates FROM write_log WHERE tbl = 'accounts'`);
    expect(counts).toEqual({ inserts: 75, updates: 30 });
    expect(await sql(world.state.url, `SELECT count(*)::int AS n FROM ${world.names.schema}.dead_letters`)).toEqual([{ n: 0 }]);
  });
});
