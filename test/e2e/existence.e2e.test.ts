/**
 * Who owns a record's existence, end to end on PostgreSQL and Redis: a CRM
 * creation under `create: [erp]` is removed from the CRM and logged; an ERP
 * delete racing a CRM edit ends with the record deleted everywhere, whichever
 * of the two is resolved first, across restarts, and is logged — never a
 * silent resurrection in the ERP.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConflictsResolve } from '../../src/cli/conflicts/resolve';
import { bufferIo } from '../../src/cli/io';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { createWorld, memoryLogger, sql, type Names, type TwoWayWorld } from './harness';

function config(names: Names, capture: { erp: boolean; crm: boolean }, correct = true): string {
  const captured = (slot: string) => `
    capture: { slot: ${slot}, publication: ${slot}, heartbeatMs: 200, maxBatchDelayMs: 10 }`;
  return `
stateStore: { url: { env: E2E_STATE_URL }, schema: ${names.schema} }
redis: { url: { env: E2E_REDIS_URL }, keyPrefix: "${names.redisPrefix}" }
systems:
  erp:
    type: postgres
    url: { env: E2E_ERP_URL }${capture.erp ? captured(names.erpSlot) : ''}
    apply: { origin: ${names.origin}, poolSize: 2, conditional: true }
  crm:
    type: postgres
    url: { env: E2E_CRM_URL }${capture.crm ? captured(names.crmSlot) : ''}
    apply: { origin: ${names.origin}, poolSize: 2, conditional: true }
entities:
  customer:
    owner: erp
    create: [erp]
    correct: ${correct}
    fields:
      name: { policy: latest-wins }
      email: { owner: crm }
    priority: [erp, crm]
mappings:
  - system: erp
    table: public.customers
    entity: customer
    key: { columns: [cust_no], generated: database }
    fields: { name: name, email: email }
  - system: crm
    table: public.accounts
    entity: customer
    key: { columns: [id], generated: uuid }
    fields: { name: account_name, email: email }
pipeline: { applyPollMs: 20, leaseMs: 5000, maxAttempts: 3 }
metrics: { port: 0 }
log: { level: warn }
`;
}

describe('existence ownership (PostgreSQL, Redis)', () => {
  let world: TwoWayWorld;
  let pipeline: RunningPipeline | undefined;
  const log = memoryLogger();
  let schema: string;

  const erp = (text: string, params: unknown[] = []) => sql(world.erp.url, text, params);
  const crm = (text: string, params: unknown[] = []) => sql(world.crm.url, text, params);
  const state = (text: string, params: unknown[] = []) => sql(world.state.url, text, params);
  const start = async (capture = { erp: true, crm: true }, correct = true) => {
    await pipeline?.stop();
    pipeline = await startPipeline(parseConfig(config(world.names, capture, correct), '/virtual/existence.yaml', world.env), { env: world.env, logger: log.logger, instanceId: 'existence-test' });
  };
  const drain = async (timeoutMs = 30_000) => {
    try {
      await pipeline!.drain({ timeoutMs });
    } catch (error) {
      throw new Error(`${(error as Error).message}\npipeline log:\n${log.lines.join('\n')}`);
    }
  };
  const accountOf = async (custNo: string): Promise<string> => {
    const rows = await state(`SELECT c.local_key FROM ${schema}.crosswalk c WHERE c.entity = 'customer' AND c.system = 'crm' AND c.canonical_key = $1`, [`erp:${custNo}`]);
    expect(rows).toHaveLength(1);
    return rows[0]!.local_key as string;
  };
  const existenceConflicts = (key: string) => state(`SELECT system, decision, rule FROM ${schema}.conflicts WHERE key = $1 AND field = '*' ORDER BY id`, [key]);
  const recordOf = async (key: string) => (await state(`SELECT deleted, version FROM ${schema}.records WHERE entity = 'customer' AND key = $1`, [key]))[0];

  beforeAll(async () => {
    world = await createWorld('exist');
    schema = world.names.schema;
    await start();
    await drain(90_000); // the first drain waits for the slots to be created, which waits for every open transaction on the server
  });

  afterAll(async () => {
    await pipeline?.stop();
    await world?.cleanup();
  });

  it('a creation by a system not in create: is removed from it and logged; it never reaches the ERP', async () => {
    const [row] = await crm(`INSERT INTO accounts (account_name, email) VALUES ('Rogue Ltd', 'r@rogue.example') RETURNING id`);
    await drain();
    const key = `crm:${row!.id as string}`;
    expect(await crm('SELECT * FROM accounts WHERE id = $1', [row!.id])).toEqual([]);
    expect(await erp(`SELECT * FROM customers WHERE name = 'Rogue Ltd'`)).toEqual([]);
    expect(await existenceConflicts(key)).toEqual([{ system: 'crm', decision: 'rejected', rule: 'customer create=[erp] (existence)' }]);
    expect((await recordOf(key))?.version ?? 0).toBe(0);
  });

  /** An ERP customer and its CRM account; then, with tandem stopped, a CRM edit followed by the ERP's delete. */
  async function race(name: string): Promise<{ custNo: string; accountId: string; key: string }> {
    const [row] = await erp('INSERT INTO customers (name) VALUES ($1) RETURNING cust_no', [name]);
    await drain();
    const custNo = row!.cust_no as string;
    const accountId = await accountOf(custNo);
    await pipeline!.stop();
    pipeline = undefined;
    await crm('UPDATE accounts SET account_name = $1 WHERE id = $2', [`${name} (edited in CRM)`, accountId]);
    await erp('DELETE FROM customers WHERE cust_no = $1', [custNo]);
    return { custNo, accountId, key: `erp:${custNo}` };
  }

  async function deletedEverywhere({ custNo, accountId, key }: { custNo: string; accountId: string; key: string }): Promise<void> {
    expect(await erp('SELECT * FROM customers WHERE cust_no = $1', [custNo])).toEqual([]);
    expect(await crm('SELECT * FROM accounts WHERE id = $1', [accountId])).toEqual([]);
    expect(await recordOf(key)).toMatchObject({ deleted: true });
  }

  it('the ERP delete resolved first, the CRM edit after a restart: the delete stands, the edit is logged and removed', async () => {
    const raced = await race('Race One');
    await start({ erp: true, crm: false }); // only the ERP's delete is read
    await drain();
    expect(await recordOf(raced.key)).toMatchObject({ deleted: true });
    await start(); // now the CRM's edit, from its slot
    await drain();
    await deletedEverywhere(raced);
    expect(await existenceConflicts(raced.key)).toEqual([
      { system: 'crm', decision: 'rejected', rule: 'customer owner=erp (existence: deleted by its owner, not re-created by crm)' },
    ]);
  });

  it('the CRM edit resolved first, the ERP delete after a restart: the ERP row is not re-created, then the delete reaches the CRM', async () => {
    const raced = await race('Race Two');
    await start({ erp: false, crm: true }); // only the CRM's edit is read: its write to the ERP finds the row gone
    await drain();
    expect(await erp('SELECT * FROM customers WHERE cust_no = $1', [raced.custNo])).toEqual([]);
    expect(await existenceConflicts(raced.key)).toEqual([
      { system: 'crm', decision: 'rejected', rule: 'customer owner=erp (existence: the row is gone from its owner; the change does not re-create it)' },
    ]);
    await start(); // now the ERP's delete
    await drain();
    await deletedEverywhere(raced);
  });
});

describe('existence ownership with correct: false (PostgreSQL, Redis)', () => {
  let world: TwoWayWorld;
  let pipeline: RunningPipeline | undefined;
  const log = memoryLogger();
  let dir: string;

  beforeAll(async () => {
    world = await createWorld('exheld');
    dir = mkdtempSync(join(tmpdir(), 'tandem-exist-'));
    writeFileSync(join(dir, 'tandem.yaml'), config(world.names, { erp: true, crm: true }, false));
    Object.assign(process.env, world.env);
    pipeline = await startPipeline(parseConfig(config(world.names, { erp: true, crm: true }, false), join(dir, 'tandem.yaml'), world.env), { env: world.env, logger: log.logger, instanceId: 'existence-held' });
    await pipeline.drain({ timeoutMs: 90_000 }); // slot creation waits for every open transaction on the server
  });

  afterAll(async () => {
    await pipeline?.stop();
    await world?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a creation by a system not in create: is held for review; keeping it creates the record in the ERP', async () => {
    const [row] = await sql(world.crm.url, `INSERT INTO accounts (account_name, email) VALUES ('Held Ltd', 'h@held.example') RETURNING id`);
    await pipeline!.drain({ timeoutMs: 30_000 });
    const key = `crm:${row!.id as string}`;
    const schema = world.names.schema;
    expect(await sql(world.crm.url, 'SELECT account_name FROM accounts WHERE id = $1', [row!.id])).toEqual([{ account_name: 'Held Ltd' }]);
    expect(await sql(world.erp.url, `SELECT * FROM customers WHERE name = 'Held Ltd'`)).toEqual([]);
    const [held] = await sql(world.state.url, `SELECT id, decision FROM ${schema}.conflicts WHERE key = $1 AND field = '*'`, [key]);
    expect(held).toMatchObject({ decision: 'held' });

    const io = bufferIo();
    expect(await runConflictsResolve(String(held!.id), { config: join(dir, 'tandem.yaml'), keep: 'crm', by: 'ops-ann' }, io)).toBe(0);
    await pipeline!.drain({ timeoutMs: 30_000 });
    expect(await sql(world.erp.url, `SELECT name, email FROM customers WHERE name = 'Held Ltd'`)).toEqual([{ name: 'Held Ltd', email: 'h@held.example' }]);
    const decisions = await sql(world.state.url, `SELECT decision, rule FROM ${schema}.conflicts WHERE key = $1 AND field = '*' ORDER BY id`, [key]);
    expect(decisions.map((d) => d.decision)).toEqual(['held', 'resolved']);
    expect(decisions[1]!.rule).toMatch(/manual review of #\d+ by ops-ann: created as crm made it/);
  });
});
