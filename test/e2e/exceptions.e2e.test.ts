/**
 * Exceptions on every target, end to end on PostgreSQL (ERP, CRM, state
 * store) and Redis: the ERP refuses a CRM value (a 30-character phone for a
 * varchar(24), a NULL for a NOT NULL column). One exception per record, not
 * one dead letter per change; the exception state is written back to the
 * CRM row; the alert webhook is called; a fix at source, or `tandem dlq
 * retry` after widening the column, applies the record's latest state and
 * clears everything.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDlqExceptions } from '../../src/cli/dlq/exceptions';
import { runDlqRetry } from '../../src/cli/dlq/retry';
import { bufferIo } from '../../src/cli/io';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { connectStateStore, verifyConflictChain } from '../../src/store';
import { createWorld, memoryLogger, sql, type Names, type TwoWayWorld } from './harness';

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
  phone        text,
  sync_status  text,
  sync_error   text
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
    apply: { origin: ${names.origin}, poolSize: 2, alertWebhook: { env: E2E_ALERT_URL } }
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
    exceptionFields: { status: sync_status, error: sync_error }
pipeline: { applyPollMs: 20, leaseMs: 5000, maxAttempts: 3 }
metrics: { port: 0 }
log: { level: warn }
`;
}

const LONG_PHONE = '+49 (0) 30 1234-5678 ext. 9012'; // 30 characters

describe('exceptions: a target refusing a change (PostgreSQL, Redis)', () => {
  let world: TwoWayWorld;
  let pipeline: RunningPipeline | undefined;
  let alerts: Array<Record<string, unknown>>;
  let webhook: Server;
  let dir: string;
  let configFile: string;
  const log = memoryLogger();
  let schema: string;

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
  const keyOf = (accountId: string) => `crm:${accountId}`;
  const exceptionsOf = (key: string) => state(`SELECT * FROM ${schema}.exceptions WHERE entity = 'customer' AND key = $1 ORDER BY id`, [key]);
  const lettersOf = (key: string) => state(`SELECT * FROM ${schema}.dead_letters WHERE payload -> 'task' ->> 'key' = $1 ORDER BY id`, [key]);
  const account = async (id: string) => (await crm('SELECT account_name, phone, sync_status, sync_error FROM accounts WHERE id = $1', [id]))[0]!;
  const newAccount = async (name: string | null, phone: string): Promise<string> => {
    const [row] = await crm('INSERT INTO accounts (account_name, phone) VALUES ($1, $2) RETURNING id', [name, phone]);
    await drain();
    return row!.id as string;
  };
  const erpRowOf = async (accountId: string) => {
    const links = await state(`SELECT e.local_key FROM ${schema}.crosswalk e WHERE e.entity = 'customer' AND e.system = 'erp' AND e.canonical_key = $1`, [keyOf(accountId)]);
    if (links.length === 0) return null;
    return (await erp('SELECT name, phone FROM customers WHERE cust_no = $1', [links[0]!.local_key]))[0] ?? null;
  };

  beforeAll(async () => {
    world = await createWorld('exc', { erpDdl: ERP, crmDdl: CRM });
    schema = world.names.schema;
    alerts = [];
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        alerts.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const port = (webhook.address() as { port: number }).port;
    world.env.E2E_ALERT_URL = `http://127.0.0.1:${port}/alerts`;
    dir = mkdtempSync(join(tmpdir(), 'tandem-exc-'));
    configFile = join(dir, 'tandem.yaml');
    writeFileSync(configFile, config(world.names));
    Object.assign(process.env, world.env);
    pipeline = await startPipeline(parseConfig(config(world.names), configFile, world.env), { env: world.env, logger: log.logger, instanceId: 'exceptions-test' });
    await drain();
  });

  afterAll(async () => {
    await pipeline?.stop();
    await world?.cleanup();
    await new Promise<void>((resolve) => webhook?.close(() => resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let first: string;

  it('a refused insert opens one exception, parks one letter, writes sync_status/sync_error back to the CRM row and alerts', async () => {
    first = await newAccount('Long Phone GmbH', LONG_PHONE);
    expect(await erpRowOf(first)).toBeNull();
    const [exception, ...more] = await exceptionsOf(keyOf(first));
    expect(more).toEqual([]);
    expect(exception).toMatchObject({ target: 'erp', origin: 'crm', status: 'open', fields: ['phone'], failures: 1 });
    expect(exception!.error).toMatch(/value too long for type character varying\(24\)/);
    expect(await lettersOf(keyOf(first))).toHaveLength(1);
    const row = await account(first);
    expect(row).toMatchObject({ account_name: 'Long Phone GmbH', phone: LONG_PHONE, sync_status: 'rejected' });
    expect(row.sync_error).toMatch(/^erp: .*value too long/);
    const logged = await state(`SELECT field, system, decision, attempted, kept_value, rule FROM ${schema}.conflicts WHERE key = $1 ORDER BY id`, [keyOf(first)]);
    expect(logged).toMatchObject([{ field: 'phone', system: 'crm', decision: 'target-rejected', attempted: LONG_PHONE, kept_value: null }]);
    expect(logged[0]!.rule).toMatch(/^erp refused the change \(exception #\d+\): .*value too long/);
    expect(alerts).toMatchObject([{ kind: 'tandem.exception', target: 'erp', entity: 'customer', key: keyOf(first), fields: ['phone'], origin: 'crm', writtenBack: true }]);
    // The canonical record keeps the CRM's value (its owner's); what the ERP holds is its shadow: nothing of it.
    const [record] = await state(`SELECT fields, shadows FROM ${schema}.records WHERE entity = 'customer' AND key = $1`, [keyOf(first)]);
    expect(record!.fields.phone).toBe(LONG_PHONE);
    expect(record!.shadows.erp ?? {}).toEqual({});
  });

  it('later changes of the record wait behind the exception: still one exception and one letter, however many changes', async () => {
    for (const name of ['Long Phone AG', 'Long Phone SE', 'Long Phone KG']) {
      await crm('UPDATE accounts SET account_name = $1 WHERE id = $2', [name, first]);
      await drain();
    }
    const exceptions = await exceptionsOf(keyOf(first));
    expect(exceptions).toHaveLength(1);
    expect(exceptions[0]).toMatchObject({ status: 'open', failures: 4 });
    expect(await lettersOf(keyOf(first))).toHaveLength(1);
    expect(await erpRowOf(first)).toBeNull();
    expect(alerts).toHaveLength(1);
    const open = await state(`SELECT count(*)::int AS n FROM ${schema}.outbox WHERE key = $1 AND target = 'erp'`, [keyOf(first)]);
    expect(open[0]!.n).toBe(1); // the held task, with the later changes folded in
    // The operator's view: the record's value beside what the ERP really holds (nothing: the insert was refused).
    const io = bufferIo();
    expect(await runDlqExceptions({ config: configFile }, io)).toBe(0);
    expect(io.stdout()).toMatch(/^id\s+age\s+target\s+entity\/key\s+from\s+field: record → target holds\s+refusals\s+letter\s+error/);
    expect(io.stdout()).toContain(`customer ${keyOf(first)}`);
    expect(io.stdout()).toContain(`phone: "${LONG_PHONE}" → -`);
    expect(io.stdout()).toContain('1 open exception\n');
  });

  it('the value corrected at source applies the record’s latest state, and clears the exception everywhere', async () => {
    await crm('UPDATE accounts SET phone = $1 WHERE id = $2', ['+49 30 1234-5678', first]);
    await drain();
    expect(await erpRowOf(first)).toEqual({ name: 'Long Phone KG', phone: '+49 30 1234-5678' });
    expect(await exceptionsOf(keyOf(first))).toMatchObject([{ status: 'resolved' }]);
    expect(await lettersOf(keyOf(first))).toMatchObject([{ status: 'retried', resolved_by: 'tandem' }]);
    expect(await account(first)).toEqual({ account_name: 'Long Phone KG', phone: '+49 30 1234-5678', sync_status: 'ok', sync_error: null });
    const decisions = await state(`SELECT decision FROM ${schema}.conflicts WHERE key = $1 ORDER BY id`, [keyOf(first)]);
    expect(decisions.map((d) => d.decision).at(-1)).toBe('exception-resolved');
    const [record] = await state(`SELECT shadows FROM ${schema}.records WHERE entity = 'customer' AND key = $1`, [keyOf(first)]);
    expect(record!.shadows.erp).toMatchObject({ name: 'Long Phone KG', phone: '+49 30 1234-5678' });
  });

  it('a NOT NULL refusal names its field; dlq retry after the ERP column is widened applies the latest state', async () => {
    const second = await newAccount(null, '+1 555 0100');
    const [exception] = await exceptionsOf(keyOf(second));
    expect(exception).toMatchObject({ status: 'open', fields: ['name'] });
    await crm('UPDATE accounts SET phone = $1 WHERE id = $2', [`${LONG_PHONE}-2`, second]);
    await drain();
    await crm('UPDATE accounts SET account_name = $1 WHERE id = $2', ['Named Later', second]);
    await drain();
    // Now the name is there but the phone is too long: the same exception, about the phone.
    const [again] = await exceptionsOf(keyOf(second));
    expect(again).toMatchObject({ id: exception!.id, status: 'open', fields: ['phone'], failures: 3 });
    const letters = await lettersOf(keyOf(second));
    expect(letters).toHaveLength(1);
    await erp('ALTER TABLE customers ALTER COLUMN phone TYPE varchar(40)');
    const io = bufferIo();
    expect(await runDlqRetry([String(letters[0]!.id)], { config: configFile, by: 'ops-ann' }, io)).toBe(0);
    await drain();
    expect(await erpRowOf(second)).toEqual({ name: 'Named Later', phone: `${LONG_PHONE}-2` });
    expect(await exceptionsOf(keyOf(second))).toMatchObject([{ status: 'resolved' }]);
    expect(await account(second)).toMatchObject({ sync_status: 'ok', sync_error: null });
    const knex = connectStateStore(world.state.url);
    try {
      expect(await verifyConflictChain(knex, schema)).toMatchObject({ ok: true });
    } finally {
      await knex.destroy();
    }
  });
});
