/**
 * The console in a real browser (Debian's chromium driven by playwright-core,
 * no browser download) against a running pipeline on real PostgreSQL and
 * Redis: the overview's lag is /metrics' lag, a provoked name race shows both
 * full values and the winner, a change the ERP refuses is parked and then
 * retried from the page (behind a confirmation) and applies, and a stalled
 * target turns the banner to STALLED. Screenshots go to test-output/console/.
 */
import { mkdirSync } from 'node:fs';
import { createServer, Socket as NetSocket, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { createConsole } from '../../src/console';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { waitFor } from '../support';
import { createWorld, memoryLogger, sql, type Names, type TwoWayWorld } from '../e2e/harness';

const SHOTS = join(process.cwd(), 'test-output', 'console');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ERP = `
CREATE SEQUENCE cust_seq;
CREATE TABLE customers (
  cust_no text PRIMARY KEY DEFAULT 'K' || lpad(nextval('cust_seq')::text, 5, '0'),
  name    text NOT NULL,
  phone   varchar(24)
);
ALTER TABLE customers REPLICA IDENTITY FULL;
`;

const CRM = `
CREATE TABLE accounts (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_name text,
  phone        text
);
ALTER TABLE accounts REPLICA IDENTITY FULL;
`;

function config(names: Names): string {
  return `
stateStore: { url: { env: E2E_STATE_URL }, schema: ${names.schema} }
redis: { url: { env: E2E_REDIS_URL }, keyPrefix: "${names.redisPrefix}" }
systems:
  erp:
    type: postgres
    url: { env: E2E_ERP_URL }
    capture: { slot: ${names.erpSlot}, publication: ${names.erpSlot}, heartbeatMs: 200, maxBatchDelayMs: 10 }
    apply: { origin: ${names.origin}, poolSize: 2 }
  crm:
    type: postgres
    url: { env: E2E_CRM_URL }
    capture: { slot: ${names.crmSlot}, publication: ${names.crmSlot}, heartbeatMs: 200, maxBatchDelayMs: 10 }
    apply: { origin: ${names.origin}, poolSize: 2 }
entities:
  customer:
    owner: erp
    fields:
      name: { policy: latest-wins }
      phone: { owner: crm }
    priority: [erp, crm]
mappings:
  - system: erp
    table: public.customers
    entity: customer
    key: { columns: [cust_no], generated: database }
    fields: { name: name, phone: phone }
  - system: crm
    table: public.accounts
    entity: customer
    key: { columns: [id], generated: uuid }
    fields: { name: account_name, phone: phone }
pipeline: { applyPollMs: 20, leaseMs: 5000, maxAttempts: 3 }
metrics: { port: 0 }
console: { actions: true, stallAfter: 4s }
log: { level: warn }
`;
}

/** Longer than any table cell the CLI prints, and with markup that must show as text. */
const ERP_NAME = 'Müller & Söhne Maschinenbau GmbH – Niederlassung Nord <b>ERP</b> edit';
const CRM_NAME = 'Müller & Söhne Maschinenbau GmbH – Niederlassung Nord <b>CRM</b> edit';
const LONG_PHONE = '+49 (0) 30 1234-5678 ext. 9012'; // 30 characters: the ERP's varchar(24) refuses it

/**
 * A TCP relay in front of the state store that can stop passing bytes (and
 * start again): a state store that hangs, as a stalled disk or a lock-up
 * would make it, without touching the shared server.
 */
async function pausableRelay(target: URL): Promise<{ url: (u: string) => string; pause(): void; resume(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let paused = false;
  const server: Server = createServer((client) => {
    const upstream = new NetSocket();
    upstream.connect(Number(target.port || 5432), target.hostname);
    // Plain data handlers, not pipe(): pipe() resumes a paused socket by itself.
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => client.write(chunk));
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
      if (paused) s.pause();
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: (u) => {
      const url = new URL(u);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    pause() {
      paused = true;
      for (const s of sockets) s.pause();
    },
    resume() {
      paused = false;
      for (const s of sockets) s.resume();
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

describe('console in a browser (PostgreSQL, Redis, chromium)', () => {
  let relay: Awaited<ReturnType<typeof pausableRelay>>;
  let world: TwoWayWorld;
  let pipeline: RunningPipeline | undefined;
  let browser: Browser;
  let page: Page;
  let base: string;
  const log = memoryLogger();
  const erp = (text: string, params: unknown[] = []) => sql(world.erp.url, text, params);
  const crm = (text: string, params: unknown[] = []) => sql(world.crm.url, text, params);
  const state = (text: string, params: unknown[] = []) => sql(world.state.url, text, params);
  const drain = async () => {
    try {
      await pipeline!.drain({ timeoutMs: 30_000 });
    } catch (error) {
      throw new Error(`${(error as Error).message}\npipeline log:\n${log.lines.join('\n')}`);
    }
  };
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const erpRowOf = async (accountId: string) => {
    const links = await state(`SELECT local_key FROM ${world.names.schema}.crosswalk WHERE entity = 'customer' AND system = 'erp' AND canonical_key = $1`, [`crm:${accountId}`]);
    return links.length === 0 ? null : ((await erp('SELECT name, phone FROM customers WHERE cust_no = $1', [links[0]!.local_key]))[0] ?? null);
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    world = await createWorld('console', { erpDdl: ERP, crmDdl: CRM });
    const text = config(world.names);
    // The pipeline reaches its state store through the relay; the test's own queries go direct.
    relay = await pausableRelay(new URL(world.state.url));
    const env = { ...world.env, E2E_STATE_URL: relay.url(world.state.url) };
    pipeline = await startPipeline(parseConfig(text, 'console-test.yaml', env), { env, logger: log.logger, instanceId: 'console-test', http: createConsole });
    base = pipeline.httpAddress()!;
    await drain();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    relay?.resume();
    await pipeline?.stop();
    await relay?.close();
    await world?.cleanup();
  });

  it('the overview shows each source with the lag /metrics reports, flowing, with the lag chart drawn', async () => {
    await page.goto(`${base}/`);
    const before = Date.now();
    const metrics = await (await fetch(`${base}/metrics`)).text();
    await page.reload();
    const elapsed = (Date.now() - before) / 1000;
    for (const system of ['erp', 'crm']) {
      const scraped = Number(new RegExp(`^tandem_capture_lag_seconds\\{system="${system}"\\} (\\S+)$`, 'm').exec(metrics)![1]);
      const shown = Number(await page.locator(`.lag[data-system="${system}"]`).getAttribute('data-lag'));
      // The same gauge read a moment later: equal up to the heartbeat (200 ms) and the time between the two reads.
      expect(Math.abs(shown - scraped)).toBeLessThanOrEqual(0.3 + elapsed);
      expect(await page.locator(`.lag[data-system="${system}"]`).textContent()).toBe(`${shown.toFixed(1)} s`);
    }
    expect(await page.locator('#verdict').getAttribute('data-state')).toBe('ok');
    await page.locator('.chart canvas').first().waitFor();
    // uPlot came from this server (offline): no request left it.
    const external = await page.evaluate<string[]>(`performance.getEntriesByType('resource').map((e) => e.name).filter((n) => !n.startsWith(location.origin))`);
    expect(external).toEqual([]);
    await shot('overview');
  });

  it('the Rules page shows what rules explain prints; Snapshots says honestly when none runs', async () => {
    await page.goto(`${base}/rules`);
    const name = (await page.locator('#rule-customer-name').textContent())!;
    expect(name).toMatch(/^customer\.name\n\s+decided by\s+direct rule entities\.customer\.fields\.name/);
    expect(name).toContain('latest-wins: concurrent edits are won by the later commit (ties: erp before crm)');
    expect(await page.locator('#rule-customer-phone').textContent()).toContain('owner=crm');
    await page.goto(`${base}/snapshots`);
    // Before snapshot progress is exported (or once every table is done), nothing is claimed to be running.
    const states = await page.locator('main table tbody tr td:nth-child(3)').allTextContents();
    if (states.length === 0) expect(await page.locator('#no-snapshot').count()).toBe(1);
    else expect(states.every((s) => s === 'done')).toBe(true);
  });

  it('a provoked name race appears on the Conflicts page with both full values, the winner and why', async () => {
    const [account] = await crm('INSERT INTO accounts (account_name, phone) VALUES ($1, $2) RETURNING id', ['Müller Original', '+49 30 1']);
    await drain();
    const accountId = account!.id as string;
    const key = `crm:${accountId}`;
    const [link] = await state(`SELECT local_key FROM ${world.names.schema}.crosswalk WHERE entity = 'customer' AND system = 'erp' AND canonical_key = $1`, [key]);
    const custNo = link!.local_key as string;
    // The CRM transaction takes the row first and commits last: its edit is the later commit.
    const client = new pg.Client({ connectionString: world.crm.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('UPDATE accounts SET account_name = $1 WHERE id = $2', [CRM_NAME, accountId]);
      await erp('UPDATE customers SET name = $1 WHERE cust_no = $2', [ERP_NAME, custNo]);
      await new Promise((r) => setTimeout(r, 20));
      await client.query('COMMIT');
    } finally {
      await client.end();
    }
    await drain();
    await waitFor(async () => (await erp('SELECT name FROM customers WHERE cust_no = $1', [custNo]))[0]!.name === CRM_NAME, { timeoutMs: 10_000, message: 'the later (CRM) name did not win' });

    await page.goto(`${base}/conflicts?entity=customer&field=name&key=${encodeURIComponent(key)}`);
    const rows = page.locator('table.conflicts tbody tr');
    expect(await rows.count()).toBeGreaterThanOrEqual(1);
    const row = rows.first();
    const text = (await row.textContent())!;
    // Both values in full, as text (the <b> is not markup), and the kept one.
    expect(text).toContain(JSON.stringify(ERP_NAME));
    expect(text).toContain(JSON.stringify(CRM_NAME));
    expect(await row.locator('b').count()).toBe(0);
    expect(await row.locator('td.kept').textContent()).toContain(JSON.stringify(CRM_NAME));
    expect(await row.locator('td.kept .winner').textContent()).toBe('crm');
    expect(await row.locator('td.why').textContent()).toMatch(/latest commit wins: (crm|erp) committed at .*, (crm|erp) at .*; crm is later|tie-break by priority/);
    expect(await page.locator('#chain').getAttribute('data-ok')).toBe('true');
    expect(await page.locator('#chain-head').textContent()).toMatch(/^\d+:[0-9a-f]{64}$/);
    // The filters narrow: a decision that did not happen here lists nothing.
    await shot('conflicts');
    await page.goto(`${base}/conflicts?key=${encodeURIComponent(key)}&decision=held`);
    expect(await page.locator('table.conflicts').count()).toBe(0);
  });

  it('a change the ERP refuses is parked; retried from the page after a confirmation, it applies', async () => {
    const [account] = await crm('INSERT INTO accounts (account_name, phone) VALUES ($1, $2) RETURNING id', ['Long Phone GmbH', LONG_PHONE]);
    await drain();
    const accountId = account!.id as string;
    expect(await erpRowOf(accountId)).toBeNull();
    const [letter] = await state(`SELECT id FROM ${world.names.schema}.dead_letters WHERE status = 'open' AND payload -> 'task' ->> 'key' = $1`, [`crm:${accountId}`]);
    expect(letter).toBeDefined();

    await page.goto(`${base}/exceptions`);
    expect(await page.locator('main').textContent()).toContain(LONG_PHONE);
    expect(await page.locator('main').textContent()).toMatch(/value too long for type character varying\(24\)/);
    await shot('exceptions');
    await erp('ALTER TABLE customers ALTER COLUMN phone TYPE varchar(40)');
    await page.locator(`a.retry[href$="id=${letter!.id}"]`).click();
    await page.locator('input[name=by]').fill('ops-ann');
    await shot('retry-confirm');
    await page.locator('#confirm').click();
    expect(await page.locator('#action-result').textContent()).toMatch(new RegExp(`^#${letter!.id}: task #\\d+ queued again`));
    await drain();
    expect(await erpRowOf(accountId)).toEqual({ name: 'Long Phone GmbH', phone: LONG_PHONE });
    const [after] = await state(`SELECT status, resolved_by FROM ${world.names.schema}.dead_letters WHERE id = $1`, [letter!.id]);
    expect(after).toEqual({ status: 'retried', resolved_by: 'ops-ann (console)' });
  });

  it('a parked change discarded from the page needs a reason, and the discard is chained onto the conflict log', async () => {
    const [account] = await crm('INSERT INTO accounts (account_name, phone) VALUES ($1, $2) RETURNING id', ['Given Up GmbH', `${LONG_PHONE} and more, far too long`]);
    await drain();
    const [letter] = await state(`SELECT id FROM ${world.names.schema}.dead_letters WHERE status = 'open' AND payload -> 'task' ->> 'key' = $1`, [`crm:${account!.id}`]);
    await page.goto(`${base}/exceptions`);
    await page.locator(`a.discard[href$="id=${letter!.id}"]`).click();
    await page.locator('input[name=by]').fill('ops-bob');
    await page.locator('#confirm').click();
    // The browser keeps a discard without a reason from being sent at all (the server refuses one too).
    expect(page.url()).toContain('/exceptions/confirm');
    await page.locator('textarea[name=reason]').fill('test account, never to reach the ERP');
    await page.locator('#confirm').click();
    expect(await page.locator('#action-result').textContent()).toMatch(new RegExp(`^#${letter!.id}: discarded, logged as conflict #\\d+$`));
    const [logged] = await state(`SELECT decision, rule FROM ${world.names.schema}.conflicts ORDER BY id DESC LIMIT 1`);
    expect(logged).toEqual({ decision: 'discarded', rule: `dead letter #${letter!.id} discarded by ops-bob (console): test account, never to reach the ERP` });
    await page.goto(`${base}/conflicts?decision=discarded`);
    expect(await page.locator('#chain').getAttribute('data-ok')).toBe('true');
    expect(await page.locator('table.conflicts tbody tr').first().textContent()).toContain('test account, never to reach the ERP');
  });

  it('refuses a POST without the page\'s CSRF token, and a Host that is not loopback', async () => {
    const forged = await fetch(`${base}/exceptions/discard`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'id=1&by=x&reason=y', redirect: 'manual' });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('CSRF');
    const port = new URL(base).port;
    const rebound = await new Promise<number>((resolve, reject) => {
      // fetch() will not set Host; a raw request can, as a DNS-rebinding page's would be.
      import('node:http').then(({ request }) => request({ host: '127.0.0.1', port, path: '/', headers: { host: `evil.example:${port}` } }, (res) => resolve(res.statusCode!)).on('error', reject).end(), reject);
    });
    expect(rebound).toBe(403);
  });

  it('a target that stops answering turns the banner to STALLED with the pending work', async () => {
    const locker = new pg.Client({ connectionString: world.erp.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE customers IN ACCESS EXCLUSIVE MODE');
      await crm('INSERT INTO accounts (account_name, phone) VALUES ($1, $2), ($3, $4)', ['Stalled One', '1', 'Stalled Two', '2']);
      await waitFor(async () => {
        await page.goto(`${base}/`);
        return (await page.locator('#verdict').getAttribute('data-state')) === 'stalled';
      }, { timeoutMs: 30_000, intervalMs: 1_000, message: 'the overview did not say STALLED' });
      expect(await page.locator('#verdict').textContent()).toMatch(/STALLED[\s\S]*\d+ tasks? pending and none finished for \d+ s \(erp: \d+ in flight/);
      await shot('overview-stalled');
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
    await drain();
  });

  it('a state store that stops answering: the overview still opens within seconds and says so', async () => {
    relay.pause();
    try {
      await crm('INSERT INTO accounts (account_name, phone) VALUES ($1, $2)', ['During The Stall', '3']);
      await new Promise((r) => setTimeout(r, 5_000)); // past stallAfter (4 s): the CRM's change cannot be made durable
      const started = Date.now();
      await page.goto(`${base}/`);
      const seconds = (Date.now() - started) / 1000;
      expect(seconds).toBeLessThan(6); // every database read gives up after 2 s
      expect(await page.locator('#verdict').getAttribute('data-state')).toBe('stalled');
      const banner = (await page.locator('#verdict').textContent())!;
      expect(banner).toContain('state store not answering (state store: no answer within 2 s)');
      expect(banner).toMatch(/source crm: lag \d+ s, no new position made durable since/);
      expect(await page.locator('main').textContent()).toContain('state store (outbox): no answer within 2 s');
      await shot('overview-state-store-stalled');
    } finally {
      relay.resume();
    }
    await drain();
    await page.goto(`${base}/`);
    await waitFor(async () => {
      await page.reload();
      return (await page.locator('#verdict').getAttribute('data-state')) === 'ok';
    }, { timeoutMs: 20_000, intervalMs: 1_000, message: 'the overview did not recover after the state store answered again' });
  });
});
