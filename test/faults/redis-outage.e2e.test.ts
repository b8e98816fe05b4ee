/**
 * Redis killed under two-way load: tandem keeps applying with dedup in the
 * state store, says so on /readyz and in the metrics, goes back to Redis when
 * it returns, and afterwards every change is in the CRM exactly once (counted
 * by the CRM's trigger-fed write log). Redis is a private server the test
 * kills with SIGKILL and starts again on the same port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { waitFor } from '../support';
import { createWorld, memoryLogger, sql, twoWayConfig, type TwoWayWorld } from '../e2e/harness';
import { startPrivateRedis, type PrivateRedis } from './private-redis';

describe('Redis outage under load (PostgreSQL ERP → CRM, private Redis)', () => {
  let world: TwoWayWorld;
  let redis: PrivateRedis;
  let pipeline: RunningPipeline | undefined;
  let port: number;
  const log = memoryLogger();

  const erp = (text: string, params: unknown[] = []) => sql(world.erp.url, text, params);
  const crm = (text: string, params: unknown[] = []) => sql(world.crm.url, text, params);
  const readyz = async () => {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: response.status, body: await response.text() };
  };
  const metric = async (name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return text.split('\n').filter((l) => l.startsWith(name));
  };
  const drain = async () => {
    try {
      await pipeline!.drain({ timeoutMs: 60_000 });
    } catch (error) {
      throw new Error(`${(error as Error).message}\npipeline log:\n${log.lines.join('\n')}`);
    }
  };
  /** 25 new customers and a rename of 10 earlier ones, in separate transactions. */
  const load = async (round: number) => {
    for (let i = 0; i < 25; i++) await erp('INSERT INTO customers (name, credit_limit) VALUES ($1, 10)', [`r${round} customer ${i}`]);
    await erp(`UPDATE customers SET name = name || ' (r${round})' WHERE cust_no IN (SELECT cust_no FROM customers ORDER BY cust_no LIMIT 10)`);
  };

  beforeAll(async () => {
    redis = await startPrivateRedis();
    world = await createWorld('redisout');
    world.env.E2E_REDIS_URL = redis.url;
    port = 20_000 + Math.floor(Math.random() * 10_000);
    const yaml = twoWayConfig({ names: world.names, captureCrm: false }).replace('metrics:\n  port: 0', `metrics:\n  port: ${port}`);
    pipeline = await startPipeline(parseConfig(yaml, '/virtual/redis-outage.yaml', world.env), { env: world.env, logger: log.logger });
    await drain();
  });

  afterAll(async () => {
    await pipeline?.stop();
    await redis?.stop();
    await world?.cleanup();
  });

  it('keeps applying while Redis is dead, reports it, recovers, and applies every change exactly once', async () => {
    await load(1);
    await drain();
    expect((await readyz()).status).toBe(200);

    await redis.kill();
    await load(2);
    await drain();
    await waitFor(async () => (await readyz()).status === 503, { timeoutMs: 10_000, message: '/readyz did not turn 503 with Redis dead' });
    expect((await readyz()).body).toMatch(/redis: degraded since \S+: unreachable/);
    expect(await metric('tandem_component_status{component="redis",state="degraded"}')).toEqual(['tandem_component_status{component="redis",state="degraded"} 1']);
    expect(log.lines.some((l) => l.includes('Redis unavailable: deduplicating in the state store'))).toBe(true);
    expect(log.lines.some((l) => l.includes('Unhandled error event'))).toBe(false);

    await redis.start();
    await waitFor(async () => (await readyz()).status === 200, { timeoutMs: 20_000, message: '/readyz did not return to 200 after Redis came back' });
    await load(3);
    await drain();
    expect(await metric('tandem_dependency_outages_total{dependency="redis"}')).toEqual(['tandem_dependency_outages_total{dependency="redis"} 1']);

    // Every ERP customer is in the CRM with the ERP's name, and the CRM saw each insert and each rename once.
    const names = (await erp('SELECT name FROM customers ORDER BY name')).map((r) => r.name);
    expect(names).toHaveLength(75);
    expect((await crm('SELECT account_name FROM accounts ORDER BY account_name')).map((r) => r.account_name)).toEqual(names);
    const twice = await crm(`SELECT op, row_key, new_value, count(*)::int AS n FROM write_log WHERE tbl = 'accounts' GROUP BY 1, 2, 3 HAVING count(*) > 1`);
    expect(twice).toEqual([]);
    const [counts] = await crm(
      `SELECT count(*) FILTER (WHERE op = 'INSERT')::int AS inserts, count(*) FILTER (WHERE op = 'UPDATE')::int AS updates FROM write_log WHERE tbl = 'accounts'`);
    expect(counts).toEqual({ inserts: 75, updates: 30 });
    expect(await sql(world.state.url, `SELECT count(*)::int AS n FROM ${world.names.schema}.dead_letters`)).toEqual([{ n: 0 }]);
  });

  it('starts with Redis down: not ready, applying with dedup in the state store, ready once Redis answers', async () => {
    await pipeline!.stop();
    pipeline = undefined;
    await redis.kill();
    const before = log.lines.length;
    const yaml = twoWayConfig({ names: world.names, captureCrm: false }).replace('metrics:\n  port: 0', `metrics:\n  port: ${port}`);
    pipeline = await startPipeline(parseConfig(yaml, '/virtual/redis-outage.yaml', world.env), { env: world.env, logger: log.logger });
    const { status, body } = await readyz();
    expect(status).toBe(503);
    expect(body).toMatch(/redis: degraded/);
    await load(4);
    await drain();
    const outageLines = log.lines.slice(before).filter((l) => l.includes('Redis unavailable'));
    expect(outageLines).toHaveLength(1);
    expect(JSON.parse(outageLines[0]!)).toMatchObject({ dependency: 'redis', reason: 'ECONNREFUSED' });

    await redis.start();
    await waitFor(async () => (await readyz()).status === 200, { timeoutMs: 20_000, message: '/readyz did not turn 200 once Redis answered' });
    const names = (await erp('SELECT name FROM customers ORDER BY name')).map((r) => r.name);
    expect(names).toHaveLength(100);
    expect((await crm('SELECT account_name FROM accounts ORDER BY account_name')).map((r) => r.account_name)).toEqual(names);
    expect(await crm(`SELECT op, row_key, new_value FROM write_log WHERE tbl = 'accounts' GROUP BY 1, 2, 3 HAVING count(*) > 1`)).toEqual([]);
  });
});
