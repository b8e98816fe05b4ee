/**
 * RestTarget against the SaaS-like test server (no database: an in-memory
 * crosswalk; the outbox's retries are played by `untilDone`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RestTarget, type ApplyTask, type RestTargetOptions } from '../../../src/apply';
import { mappingSpec } from '../../../src/config/spec';
import { ApplyError, DependencyPendingError } from '../../../src/errors';
import { compileMapping } from '../../../src/transform';
import { SaasServer, type SaasServerOptions } from '../../support/saas-server';
import { makeTask, MemoryCrosswalk } from '../helpers';

const customerMapping = compileMapping(mappingSpec.parse({
  system: 'saas', table: 'accounts', entity: 'customer', key: { columns: ['id'], generated: 'database' },
  fields: { name: 'name', email: 'contact.email', credit_limit: 'credit.limit' },
}));
const orderMapping = compileMapping(mappingSpec.parse({
  system: 'saas', table: 'orders', entity: 'sales_order', key: { columns: ['id'], generated: 'database' },
  fields: { customer: { column: 'account_id', ref: 'customer' }, note: 'note' },
}));
const lineMapping = compileMapping(mappingSpec.parse({
  system: 'saas', table: 'order_lines', entity: 'order_line', key: { columns: ['id'], generated: 'database' },
  fields: { order: { column: 'order_id', ref: 'sales_order' }, line_no: 'line_no', sku: 'sku', qty: 'qty' },
}));

const ENDPOINTS: RestTargetOptions['endpoints'] = {
  customer: { create: { method: 'POST', path: '/accounts' }, update: { method: 'PATCH', path: '/accounts/{id}' }, delete: { method: 'DELETE', path: '/accounts/{id}' }, idField: 'id' },
  sales_order: {
    create: { method: 'POST', path: '/orders' }, update: { method: 'PATCH', path: '/orders/{id}' }, idField: 'id',
    lines: { entity: 'order_line', ref: 'order', property: 'lines', exceptionFields: { status: 'sync_status', error: 'sync_error', rejectedValue: 'rejected' } },
  },
};

describe('RestTarget against a SaaS-like API', () => {
  let server: SaasServer;
  let target: RestTarget;
  const crosswalk = new MemoryCrosswalk();
  const refMappings = (e: string) => ({ customer: customerMapping, sales_order: orderMapping, order_line: lineMapping })[e];
  const ctx = (mapping = customerMapping) => ({ mapping, crosswalk, refMappings });

  async function setup(serverOptions: SaasServerOptions = {}, over: Partial<RestTargetOptions> = {}) {
    server = await SaasServer.start(serverOptions);
    target = new RestTarget({
      system: 'saas', baseUrl: server.url, auth: { kind: 'none' }, timeoutMs: 2000,
      circuitBreaker: { failureThreshold: 3, resetMs: 300 }, endpoints: ENDPOINTS, alertWebhook: `${server.url}/alerts`, ...over,
    });
  }
  afterEach(async () => {
    await server?.close();
  });

  /** What the outbox does: the same task again (same id) until it succeeds; returns the errors on the way. */
  async function untilDone(task: ApplyTask, mapping = customerMapping, maxAttempts = 30) {
    const errors: ApplyError[] = [];
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      try {
        return { outcome: await target.apply({ ...task, attempts: attempt }, ctx(mapping)), errors };
      } catch (error) {
        if (!(error instanceof ApplyError) || !error.retriable) throw error;
        errors.push(error);
        await new Promise((r) => setTimeout(r, Math.min(error.retryAfterMs ?? 20, 1500)));
      }
    }
    throw new Error(`not done after ${maxAttempts} attempts: ${errors.map((e) => e.message).join('; ')}`);
  }

  const customerTask = (key: string, fields: Record<string, string>) => makeTask({ target: 'saas', entity: 'customer', key, fields, record: fields });

  it('creates with the id the target returns (linked in the crosswalk), updates by id with If-Match; every request carries Idempotency-Key and X-Correlation-Id', async () => {
    await setup();
    const create = customerTask('erp:C1', { name: 'Acme', email: 'a@acme.test', credit_limit: '100.00' });
    const created = await target.apply(create, ctx());
    expect(created.status).toBe('applied');
    const id = created.localKey!;
    expect((await crosswalk.localKeys('customer', 'saas', ['erp:C1'])).get('erp:C1')).toBe(id);
    expect(server.all('accounts')[0]!.body).toEqual({ name: 'Acme', contact: { email: 'a@acme.test' }, credit: { limit: '100.00' } });

    const update = makeTask({ target: 'saas', entity: 'customer', key: 'erp:C1', fields: { name: 'Acme Corp' }, record: { name: 'Acme Corp' } });
    expect(await target.apply(update, ctx())).toEqual({ status: 'applied', localKey: id });
    expect(server.all('accounts')).toHaveLength(1);
    expect(server.all('accounts')[0]!.body['name']).toBe('Acme Corp');
    const [post, patch] = server.requests;
    expect(post).toMatchObject({ method: 'POST', path: '/accounts', idempotencyKey: create.id, correlationId: create.correlationId });
    expect(patch).toMatchObject({ method: 'PATCH', path: `/accounts/${id}`, idempotencyKey: update.id, correlationId: update.correlationId, ifMatch: '"1"' });
  });

  it('a response lost to a timeout is not a duplicate: the retry with the same key gets the first answer', async () => {
    await setup({}, { timeoutMs: 150 });
    server.slow(400);
    const task = customerTask('erp:T1', { name: 'Slow Ltd' });
    await expect(target.apply(task, ctx())).rejects.toMatchObject({ retriable: true, code: 'REST_TIMEOUT' });
    server.slow(0);
    const { outcome } = await untilDone(task);
    expect(server.all('accounts')).toHaveLength(1);
    expect(outcome.localKey).toBe(server.all('accounts')[0]!.id);
    expect(server.mutations.get(task.id)).toBe(1);
  });

  it('429 and 503 carry the Retry-After wait (seconds or HTTP date), and the target is not called again before it', async () => {
    await setup();
    server.fail({ status: 429, retryAfter: 2 });
    const task = customerTask('erp:R1', { name: 'Rate' });
    const error = await target.apply(task, ctx()).catch((e: ApplyError) => e);
    expect(error).toMatchObject({ retriable: true, code: 'REST_RATE_LIMITED' });
    expect((error as ApplyError).retryAfterMs).toBe(2000);
    const before = server.requests.length;
    await expect(target.apply(task, ctx())).rejects.toMatchObject({ code: 'REST_RATE_LIMITED' });
    expect(server.requests.length).toBe(before); // failed fast, on the client

    await server.close();
    await setup();
    server.fail({ status: 503, retryAfter: new Date(Date.now() + 3000).toUTCString() });
    const e503 = await target.apply(task, ctx()).catch((e: ApplyError) => e);
    expect(e503).toMatchObject({ retriable: true, code: 'REST_UNAVAILABLE' });
    expect((e503 as ApplyError).retryAfterMs).toBeGreaterThan(1000);
    expect((e503 as ApplyError).retryAfterMs).toBeLessThanOrEqual(3000);
  });

  it('5xx and connection resets are retriable; 400/422 are permanent with the target\'s body in the error', async () => {
    await setup();
    server.fail({ status: 500 });
    await expect(target.apply(customerTask('erp:E1', { name: 'x' }), ctx())).rejects.toMatchObject({ retriable: true, code: 'REST_SERVER_ERROR' });
    server.down();
    await expect(target.apply(customerTask('erp:E1', { name: 'x' }), ctx())).rejects.toMatchObject({ retriable: true, code: 'REST_NETWORK' });
    server.up();
    server.fail({ status: 422, body: { error: 'email is invalid', field: 'contact.email' } });
    const e422 = await target.apply(customerTask('erp:E2', { name: 'y', email: 'bad' }), ctx()).catch((e: ApplyError) => e);
    expect(e422).toMatchObject({ retriable: false, code: 'REST_REJECTED' });
    expect((e422 as ApplyError).message).toContain('email is invalid');
    expect((e422 as ApplyError).toJSON()['details']).toMatchObject({ status: 422, response: { error: 'email is invalid' } });
    server.fail({ status: 400, body: { error: 'malformed' } });
    await expect(target.apply(customerTask('erp:E3', { name: 'z' }), ctx())).rejects.toMatchObject({ retriable: false, message: expect.stringContaining('malformed') });
  });

  it('412 (changed in the target): re-read, then the retry carries the new ETag and succeeds', async () => {
    await setup();
    const { outcome } = await untilDone(customerTask('erp:P1', { name: 'Before' }));
    const id = outcome.localKey!;
    server.touch('accounts', id, { segment: 'edited in the SaaS' });
    const task = makeTask({ target: 'saas', entity: 'customer', key: 'erp:P1', fields: { name: 'After' }, record: { name: 'After' } });
    const { errors } = await untilDone(task);
    expect(errors.map((e) => e.code)).toEqual(['REST_CONFLICT']);
    const body = server.all('accounts')[0]!.body;
    expect(body).toMatchObject({ name: 'After', segment: 'edited in the SaaS' });
    const methods = server.requests.slice(-3).map((r) => `${r.method} ${r.status} ${r.ifMatch ?? ''}`);
    expect(methods).toEqual(['PATCH 412 "1"', 'GET 200 ', 'PATCH 200 "2"']);
  });

  it('the circuit breaker opens after consecutive failures (requests stop reaching the server), half-opens and closes', async () => {
    await setup();
    server.fail({ status: 500, times: 100 });
    for (let i = 0; i < 3; i++) await expect(target.apply(customerTask(`erp:B${i}`, { name: 'b' }), ctx())).rejects.toMatchObject({ code: 'REST_SERVER_ERROR' });
    expect(target.breaker.state).toBe('open');
    const seen = server.requests.length;
    for (let i = 0; i < 5; i++) await expect(target.apply(customerTask('erp:B9', { name: 'b' }), ctx())).rejects.toMatchObject({ code: 'REST_CIRCUIT_OPEN', retriable: true });
    expect(server.requests.length).toBe(seen);
    await new Promise((r) => setTimeout(r, 320));
    await expect(target.apply(customerTask('erp:B9', { name: 'b' }), ctx())).rejects.toMatchObject({ code: 'REST_SERVER_ERROR' }); // failed trial
    expect(target.breaker.state).toBe('open');
    server.reset();
    await new Promise((r) => setTimeout(r, 320));
    expect(target.breaker.state).toBe('half-open');
    expect((await target.apply(customerTask('erp:B9', { name: 'b' }), ctx())).status).toBe('applied');
    expect(target.breaker.state).toBe('closed');
  });

  it('OAuth2 client credentials: the token is cached, fetched again when it expires and once on a 401', async () => {
    await setup({ auth: { kind: 'oauth2', clientId: 'tandem', clientSecret: 's3cret', tokenTtlMs: 600 } });
    target = new RestTarget({
      system: 'saas', baseUrl: server.url, timeoutMs: 2000, circuitBreaker: { failureThreshold: 3, resetMs: 300 }, endpoints: ENDPOINTS,
      auth: { kind: 'oauth2', tokenUrl: `${server.url}/oauth/token`, clientId: 'tandem', clientSecret: 's3cret' },
    });
    await Promise.all([1, 2, 3].map((i) => target.apply(customerTask(`erp:O${i}`, { name: `o${i}` }), ctx())));
    expect(server.tokensIssued).toBe(1);
    await new Promise((r) => setTimeout(r, 700));
    await target.apply(customerTask('erp:O4', { name: 'o4' }), ctx());
    expect(server.tokensIssued).toBe(2);
    server.expireTokens(); // revoked early: the client sees a 401, refreshes once and goes on
    await target.apply(customerTask('erp:O5', { name: 'o5' }), ctx());
    expect(server.tokensIssued).toBe(3);
    expect(server.all('accounts')).toHaveLength(5);
    expect(server.requests.filter((r) => r.status === 401)).toHaveLength(1);
    // The secret is not in any error: a wrong one is refused with the endpoint's answer only.
    const wrong = new RestTarget({
      system: 'saas', baseUrl: server.url, timeoutMs: 2000, circuitBreaker: { failureThreshold: 3, resetMs: 300 }, endpoints: ENDPOINTS,
      auth: { kind: 'oauth2', tokenUrl: `${server.url}/oauth/token`, clientId: 'tandem', clientSecret: 'wrong-secret-value' },
    });
    const error = await wrong.apply(customerTask('erp:O6', { name: 'o6' }), ctx()).catch((e: ApplyError) => e);
    expect(error).toMatchObject({ code: 'REST_AUTH_FAILED' });
    expect(JSON.stringify((error as ApplyError).toJSON()) + (error as Error).message).not.toContain('wrong-secret-value');
  });

  it('bearer, API key and basic auth are sent as configured', async () => {
    for (const [serverAuth, clientAuth] of [
      [{ kind: 'bearer', token: 't0k' }, { kind: 'bearer', token: 't0k' }],
      [{ kind: 'apiKey', header: 'X-Api-Key', value: 'k3y' }, { kind: 'apiKey', header: 'X-Api-Key', value: 'k3y' }],
      [{ kind: 'basic', username: 'u', password: 'p' }, { kind: 'basic', username: 'u', password: 'p' }],
    ] as const) {
      await setup({ auth: serverAuth }, { auth: clientAuth });
      expect((await target.apply(customerTask('erp:A1', { name: 'a' }), ctx())).status).toBe('applied');
      const bad = new RestTarget({ system: 'saas', baseUrl: server.url, timeoutMs: 2000, circuitBreaker: { failureThreshold: 3, resetMs: 300 }, endpoints: ENDPOINTS, auth: { kind: 'none' } });
      await expect(bad.apply(customerTask('erp:A2', { name: 'a' }), ctx())).rejects.toMatchObject({ code: 'REST_UNAUTHORIZED', retriable: false });
      await server.close();
    }
    await setup();
  });

  it('the rate limit holds: the server never sees more than N requests in a second', async () => {
    await setup({}, { rateLimitPerSecond: 20 });
    const tasks = Array.from({ length: 50 }, (_, i) => customerTask(`erp:L${i}`, { name: `l${i}` }));
    const started = Date.now();
    const results = await target.applyBatch(tasks, ctx());
    expect(results.every((r) => r.outcome?.status === 'applied')).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(server.maxPerSecond()).toBeLessThanOrEqual(21);
  });

  it('an order line the target rejects: the other lines stay applied, the rejection carries the write-back, the webhook is alerted', async () => {
    await setup({ discontinued: ['X-9'] });
    await untilDone(customerTask('crm:A', { name: 'Acme' }));
    const order = makeTask({ target: 'saas', entity: 'sales_order', key: 'crm:O1', fields: { customer: 'crm:A', note: 'rush' }, record: { customer: 'crm:A', note: 'rush' } });
    // A line before its header is in the target waits for it.
    const line = (n: number, sku: string) => makeTask({ target: 'saas', entity: 'order_line', key: `crm:L${n}`, fields: {}, record: { order: 'crm:O1', line_no: n, sku, qty: '2.00' }, correlationId: `crm@0000000${n}` });
    await expect(target.apply(line(1, 'A-1'), ctx(lineMapping))).rejects.toBeInstanceOf(DependencyPendingError);
    const { outcome } = await untilDone(order, orderMapping);
    const results = await target.applyBatch([line(1, 'A-1'), line(2, 'X-9'), line(3, 'B-2')], ctx(lineMapping));
    expect(results.map((r) => r.outcome?.status ?? (r.error as ApplyError).code)).toEqual(['applied', 'REST_LINE_REJECTED', 'applied']);
    const rejected = results[1]!.error as ApplyError;
    expect(rejected.retriable).toBe(false);
    expect(rejected.writeBack).toEqual({ entity: 'order_line', key: 'crm:L2', fields: { sync_status: 'rejected', sync_error: 'SKU X-9 is discontinued' } });
    expect(rejected.toJSON()['details']).toMatchObject({ status: 422, reason: 'SKU X-9 is discontinued' });
    const stored = server.all('orders')[0]!;
    expect(stored.id).toBe(outcome.localKey);
    expect(stored.body['lines'].map((l: any) => l.sku)).toEqual(['A-1', 'B-2']);
    expect(stored.body['account_id']).toBe(server.all('accounts')[0]!.id);
    expect(server.alerts).toHaveLength(1);
    expect(server.alerts[0]).toMatchObject({ kind: 'tandem.line_rejected', entity: 'order_line', key: 'crm:L2', reason: 'SKU X-9 is discontinued', header: { entity: 'sales_order', key: 'crm:O1', targetId: outcome.localKey } });
    // Line ids are linked like any other record's.
    expect((await crosswalk.localKeys('order_line', 'saas', ['crm:L1'])).get('crm:L1')).toMatch(/^lin_/);
  });
});
