/**
 * The REST target in the pipeline: a CRM on real PostgreSQL (captured) is
 * written to a SaaS API (the test server), with the state store on
 * PostgreSQL and deduplication in Redis.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config';
import { startPipeline, type RunningPipeline } from '../../../src/pipeline';
import { SaasServer } from '../../support/saas-server';
import { createWorld, memoryLogger, sql, type TwoWayWorld } from '../../e2e/harness';

const CRM_DDL = `
CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), account_name text NOT NULL, email text);
CREATE TABLE orders (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), account_id uuid NOT NULL REFERENCES accounts, note text);
CREATE TABLE order_lines (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), order_id uuid NOT NULL REFERENCES orders,
  line_no integer NOT NULL, sku text NOT NULL, qty numeric(10,2) NOT NULL,
  sync_status text, sync_error text
);
ALTER TABLE accounts REPLICA IDENTITY FULL;
ALTER TABLE orders REPLICA IDENTITY FULL;
ALTER TABLE order_lines REPLICA IDENTITY FULL;
`;

function config(world: TwoWayWorld): string {
  const { names } = world;
  return `
stateStore: { url: { env: E2E_STATE_URL }, schema: ${names.schema} }
redis: { url: { env: E2E_REDIS_URL }, keyPrefix: "${names.redisPrefix}" }
systems:
  crm:
    type: postgres
    url: { env: E2E_CRM_URL }
    capture: { slot: ${names.crmSlot}, publication: ${names.crmSlot}, heartbeatMs: 200, maxBatchDelayMs: 10 }
    apply: { origin: ${names.origin}, poolSize: 2 }
  saas:
    type: rest
    url: { env: E2E_SAAS_URL }
    rest:
      auth: { oauth2: { tokenUrl: "${'${TOKEN_URL}'}", clientId: tandem, clientSecret: { env: E2E_SAAS_SECRET } } }
      timeoutMs: 500
      circuitBreaker: { failureThreshold: 5, resetMs: 500 }
      alertWebhook: { env: E2E_ALERT_URL }
      endpoints:
        customer:
          create: { method: POST, path: /accounts }
          update: { method: PATCH, path: "/accounts/{id}" }
          delete: { method: DELETE, path: "/accounts/{id}" }
          idField: id
        sales_order:
          create: { method: POST, path: /orders }
          update: { method: PATCH, path: "/orders/{id}" }
          idField: id
          lines:
            entity: order_line
            ref: order
            property: lines
            exceptionFields: { status: sync_status, error: sync_error }
entities:
  customer: { owner: crm }
  sales_order: { owner: crm }
  order_line:
    owner: crm
    fields:
      sync_status: { owner: saas }
      sync_error: { owner: saas }
mappings:
  - system: crm
    table: public.accounts
    entity: customer
    key: { columns: [id], generated: uuid }
    fields: { name: account_name, email: email }
  - system: crm
    table: public.orders
    entity: sales_order
    key: { columns: [id], generated: uuid }
    fields: { customer: { column: account_id, ref: customer }, note: note }
  - system: crm
    table: public.order_lines
    entity: order_line
    key: { columns: [id], generated: uuid }
    fields:
      order: { column: order_id, ref: sales_order }
      line_no: line_no
      sku: sku
      qty: { column: qty, convert: [{ decimal: { scale: 2 } }] }
      sync_status: sync_status
      sync_error: sync_error
  - system: saas
    table: accounts
    entity: customer
    key: { columns: [id], generated: database }
    fields: { name: name, email: contact.email }
  - system: saas
    table: orders
    entity: sales_order
    key: { columns: [id], generated: database }
    fields: { customer: { column: account_id, ref: customer }, note: note }
  - system: saas
    table: order_lines
    entity: order_line
    key: { columns: [id], generated: database }
    fields: { order: { column: order_id, ref: sales_order }, line_no: line_no, sku: sku, qty: qty }
pipeline: { applyPollMs: 20, applyBatch: 200, leaseMs: 5000, maxAttempts: 40 }
metrics: { port: 0 }
log: { level: warn }
`;
}

describe('REST target in the pipeline (PostgreSQL CRM → SaaS API; PostgreSQL state store, Redis)', () => {
  let world: TwoWayWorld;
  let server: SaasServer;
  let pipeline: RunningPipeline | undefined;
  const log = memoryLogger();
  const crm = (text: string, params: unknown[] = []) => sql(world.crm.url, text, params);
  const state = (text: string, params: unknown[] = []) => sql(world.state.url, text, params);
  const drain = async (timeoutMs = 60_000) => {
    try {
      await pipeline!.drain({ timeoutMs });
    } catch (error) {
      throw new Error(`${(error as Error).message}\npipeline log:\n${log.lines.join('\n')}`);
    }
  };
  const accounts = async (n: number, prefix: string) => {
    const values = Array.from({ length: n }, (_, i) => `('${prefix} ${i}', '${prefix.toLowerCase()}${i}@example.test')`).join(',');
    await crm(`INSERT INTO accounts (account_name, email) VALUES ${values}`);
  };
  const named = (prefix: string) => server.all('accounts').filter((a) => String(a.body['name']).startsWith(`${prefix} `));

  beforeAll(async () => {
    world = await createWorld('rest', { crmDdl: CRM_DDL });
    server = await SaasServer.start({ auth: { kind: 'oauth2', clientId: 'tandem', clientSecret: 'client-s3cret', tokenTtlMs: 2000 }, discontinued: ['X-9'] });
    const env = { ...world.env, E2E_SAAS_URL: server.url, E2E_SAAS_SECRET: 'client-s3cret', E2E_ALERT_URL: `${server.url}/alerts` };
    const loaded = parseConfig(config(world).replace('${TOKEN_URL}', `${server.url}/oauth/token`), '/virtual/rest.yaml', env);
    pipeline = await startPipeline(loaded, { env, logger: log.logger, instanceId: 'rest-e2e' });
    await drain();
  });
  beforeEach(() => server?.reset());
  afterAll(async () => {
    await pipeline?.stop();
    await server?.close();
    await world?.cleanup();
  });

  it('a retry storm (intermittent 500s and 429s) ends with every change applied exactly once', async () => {
    const carriedOut = () => { const { applied, superseded } = pipeline!.stats().tasks; return applied + superseded; };
    const carriedOutBefore = carriedOut();
    server.flaky(0.3, [500, 500, 500, 429]);
    await accounts(40, 'Storm');
    await crm(`UPDATE accounts SET email = replace(email, '@', '+v2@') WHERE account_name LIKE 'Storm %' AND account_name < 'Storm 2'`);
    await drain(90_000);
    server.reset();
    const stored = named('Storm');
    expect(stored).toHaveLength(40);
    expect(new Set(stored.map((a) => a.body['name'])).size).toBe(40);
    const updated = stored.filter((a) => String(a.body['contact']?.email).includes('+v2@'));
    expect(updated.length).toBe(12); // Storm 0, 1 and 10–19 sort before 'Storm 2'
    // Each change is one idempotency key, carried out once, however many times it was sent.
    const mutatedKeys = [...server.mutations.entries()].filter(([, n]) => n > 0);
    expect(mutatedKeys.every(([, n]) => n === 1)).toBe(true);
    const failures = server.apiRequests.filter((r) => r.status === 500 || r.status === 429).length;
    expect(failures).toBeGreaterThan(0);
    // Tasks carried out leave the outbox: none is left open or dead, and as many were carried out
    // (only saas customer tasks run in this test) as keys were mutated, each once.
    const left = await state(`SELECT count(*)::int AS n FROM ${world.names.schema}.outbox WHERE target = 'saas' AND entity = 'customer' AND status <> 'done'`);
    expect(left[0]!.n).toBe(0);
    expect(mutatedKeys.length).toBe(carriedOut() - carriedOutBefore);
    expect(await state(`SELECT * FROM ${world.names.schema}.dead_letters WHERE system = 'saas'`)).toHaveLength(0);
  });

  it('an order with a discontinued line: valid lines applied, the rejected one an exception written back to the CRM line, and alerted', async () => {
    const [account] = await crm(`INSERT INTO accounts (account_name) VALUES ('Linehaul') RETURNING id`);
    const [order] = await crm(`INSERT INTO orders (account_id, note) VALUES ($1, 'three lines') RETURNING id`, [account!.id]);
    await crm(`INSERT INTO order_lines (order_id, line_no, sku, qty) VALUES ($1, 1, 'A-1', 2), ($1, 2, 'X-9', 1), ($1, 3, 'B-2', 5)`, [order!.id]);
    await drain();
    const saasOrder = server.all('orders').find((o) => o.body['note'] === 'three lines')!;
    expect(saasOrder).toBeDefined();
    expect(saasOrder.body['lines'].map((l: any) => [l.line_no, l.sku, l.qty])).toEqual(expect.arrayContaining([[1, 'A-1', '2.00'], [3, 'B-2', '5.00']]));
    expect(saasOrder.body['lines']).toHaveLength(2);
    const lines = await crm(`SELECT line_no, sync_status, sync_error FROM order_lines WHERE order_id = $1 ORDER BY line_no`, [order!.id]);
    expect(lines).toEqual([
      { line_no: 1, sync_status: null, sync_error: null },
      { line_no: 2, sync_status: 'rejected', sync_error: 'SKU X-9 is discontinued' },
      { line_no: 3, sync_status: null, sync_error: null },
    ]);
    const letters = await state(`SELECT error_code, error, payload FROM ${world.names.schema}.dead_letters WHERE error_code = 'REST_LINE_REJECTED'`);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.error).toContain('SKU X-9 is discontinued');
    expect(letters[0]!.payload.error.details).toMatchObject({ status: 422, reason: 'SKU X-9 is discontinued' });
    expect(server.alerts).toEqual([expect.objectContaining({ kind: 'tandem.line_rejected', reason: 'SKU X-9 is discontinued', line: expect.objectContaining({ sku: 'X-9' }) })]);
  });

  it('a target down for a few seconds recovers without loss', async () => {
    server.down();
    await accounts(10, 'Down');
    await new Promise((r) => setTimeout(r, 3000));
    expect(named('Down')).toHaveLength(0);
    server.up();
    await drain(60_000);
    expect(named('Down')).toHaveLength(10);
    expect(await state(`SELECT * FROM ${world.names.schema}.dead_letters WHERE system = 'saas' AND error_code <> 'REST_LINE_REJECTED'`)).toHaveLength(0);
  });

  it('a 422 goes to the dead-letter table with the response body; the pipeline goes on', async () => {
    server.fail({ status: 422, body: { error: 'account name is reserved', field: 'name' }, match: (m, p, body) => m === 'POST' && p === '/accounts' && String(body?.name).startsWith('Reserved') });
    await accounts(1, 'Reserved');
    await accounts(1, 'Fine');
    await drain();
    const letters = await state(`SELECT error_code, error, payload, attempts FROM ${world.names.schema}.dead_letters WHERE error_code = 'REST_REJECTED'`);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.error).toContain('account name is reserved');
    expect(letters[0]!.payload.error.details).toMatchObject({ status: 422, response: { error: 'account name is reserved' } });
    expect(letters[0]!.attempts).toBe(1);
    expect(named('Fine')).toHaveLength(1);
  });
});
