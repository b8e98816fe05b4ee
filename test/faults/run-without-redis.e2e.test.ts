/**
 * `tandem run` started while Redis cannot be reached: the preflight says so
 * as a warning (`tandem check` calls it an error) and the service starts
 * anyway, degraded (dedup in the state store), instead of refusing to start.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support';
import { startTandem, type Tandem } from '../e2e/child';
import { createWorld, sql, twoWayConfig, type TwoWayWorld } from '../e2e/harness';

describe('tandem run with Redis unreachable at start', () => {
  let world: TwoWayWorld;
  let dir: string;
  let tandem: Tandem | undefined;
  const port = 20_000 + Math.floor(Math.random() * 10_000);

  beforeAll(async () => {
    world = await createWorld('noredis');
    dir = mkdtempSync(join(tmpdir(), 'tandem-noredis-'));
  });

  afterAll(async () => {
    if (tandem && tandem.child.exitCode === null) {
      tandem.child.kill('SIGTERM');
      await tandem.exited;
    }
    await world?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts degraded, applies, and says why on /readyz', async () => {
    const file = join(dir, 'tandem.yaml');
    writeFileSync(file, twoWayConfig({ names: world.names, captureCrm: false }).replace('metrics:\n  port: 0', `metrics:\n  port: ${port}`));
    tandem = startTandem(['run', '--config', file], { ...world.env, E2E_REDIS_URL: 'redis://127.0.0.1:1', TANDEM_LOG_LEVEL: 'warn' });
    await sql(world.erp.url, `INSERT INTO customers (name) VALUES ('Started without Redis')`);
    await waitFor(async () => (await sql(world.crm.url, `SELECT count(*)::int AS n FROM accounts WHERE account_name = 'Started without Redis'`))[0]!.n === 1, {
      timeoutMs: 60_000, message: () => `the change never reached the CRM\n${tandem!.output().slice(-3000)}`,
    });
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toMatch(/redis: degraded/);
    expect(tandem.output()).toMatch(/preflight: Redis cannot be reached: .*starting with deduplication in the state store/);
    expect(tandem.child.exitCode).toBeNull();
  });
});
