/**
 * `tandem compare` on the two-way ERP ⇄ CRM world (PostgreSQL, Redis):
 * drift planted behind tandem's back (with a replication origin of tandem's
 * own, so capture drops it as an echo) is found and classified, `--repair`
 * queues the rule-correct values, the running pipeline delivers them, and
 * compare then exits 0 with the repairs in a conflict log that verifies.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCompareCommand } from '../../src/cli/compare-command';
import { runConflictsVerify } from '../../src/cli/conflicts/verify';
import { bufferIo } from '../../src/cli/io';
import type { CompareReport, Difference } from '../../src/compare';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { createWorld, memoryLogger, sql, twoWayConfig, type TwoWayWorld } from '../e2e/harness';

describe('tandem compare on a two-way ERP ⇄ CRM (PostgreSQL)', () => {
  let world: TwoWayWorld;
  let pipeline: RunningPipeline | undefined;
  let dir: string;
  let configFile: string;
  let configText: string;
  const log = memoryLogger();
  const erp = (text: string, params: unknown[] = []) => sql(world.erp.url, text, params);
  const crm = (text: string, params: unknown[] = []) => sql(world.crm.url, text, params);
  const state = (text: string, params: unknown[] = []) => sql(world.state.url, text, params);

  const start = async () => {
    pipeline = await startPipeline(parseConfig(configText, configFile, world.env), { env: world.env, logger: log.logger, instanceId: 'compare-test' });
    await pipeline.drain({ timeoutMs: 60_000 });
  };
  const stop = async () => {
    await pipeline?.stop();
    pipeline = undefined;
  };
  const compare = async (extra: { repair?: boolean; format?: string } = {}) => {
    const io = bufferIo();
    const code = await runCompareCommand({ config: configFile, format: 'json', ...extra }, io);
    expect(io.stderr()).toBe('');
    return { code, report: JSON.parse(io.stdout()) as CompareReport, io };
  };
  /** Writes that capture sees as tandem's own (an origin slot of tandem's origin), so nothing propagates them. */
  const behindTheBack = async (url: string, ...statements: string[]) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const origin = `${world.names.origin}:77`;
      await client.query(`SELECT pg_replication_origin_create($1) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1)`, [origin]);
      await client.query('SELECT pg_replication_origin_session_setup($1)', [origin]);
      for (const s of statements) await client.query(s);
      await client.query('SELECT pg_replication_origin_session_reset()');
    } finally {
      await client.end();
    }
  };
  const accountOf = async (custNo: string) =>
    (await state(`SELECT c.local_key FROM ${world.names.schema}.crosswalk c WHERE c.entity = 'customer' AND c.system = 'crm' AND c.canonical_key = $1`, [`erp:${custNo}`]))[0]!.local_key as string;

  beforeAll(async () => {
    world = await createWorld('cmp2way');
    Object.assign(process.env, world.env);
    dir = mkdtempSync(join(tmpdir(), 'tandem-compare-'));
    configFile = join(dir, 'tandem.yaml');
    configText = twoWayConfig({ names: world.names });
    writeFileSync(configFile, configText);
    await erp(`INSERT INTO customers (cust_no, name, email, credit_limit) VALUES
      ('K00001', 'Alpha', 'a@x.example', 100), ('K00002', 'Beta', 'b@x.example', 200), ('K00003', 'Gamma', null, 300),
      ('K00004', 'Delta', 'd@x.example', 400), ('K00005', 'Epsilon', null, 500)`);
    await erp(`INSERT INTO orders (order_no, cust_no, status, note) VALUES (1, 'K00001', 'new', 'first'), (2, 'K00002', 'rel', null)`);
    await erp(`INSERT INTO order_lines VALUES (1, 1, 'SKU-1', 2), (1, 2, 'SKU-2', 5), (2, 1, 'SKU-3', 1)`);
    await start();
  }, 120_000);

  afterAll(async () => {
    await stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await world?.cleanup();
  });

  it('finds no difference when the pipeline has converged, and exits 0', async () => {
    const { code, report } = await compare();
    expect(report.entities.map((e) => [e.entity, e.method, e.records, e.recordsMismatched])).toEqual([
      ['customer', 'stream', 5, 0], ['sales_order', 'stream', 2, 0], ['order_line', 'stream', 3, 0],
    ]);
    expect(code).toBe(0);
  });

  it('classifies drift planted behind tandem\'s back, and names the side the rules say is right', async () => {
    await stop();
    const gamma = await accountOf('K00003');
    const alpha = await accountOf('K00001');
    const epsilon = await accountOf('K00005');
    await behindTheBack(world.crm.url,
      `UPDATE accounts SET credit_limit = 999.00 WHERE id = '${alpha}'`, // ERP-owned field altered in the CRM
      `DELETE FROM accounts WHERE id = '${gamma}'`, // a row deleted on one side
      `UPDATE accounts SET account_name = 'Epsilon Renamed' WHERE id = '${epsilon}'`); // a shared (latest-wins) field
    await behindTheBack(world.erp.url,
      `UPDATE customers SET credit_limit = 250.00 WHERE cust_no = 'K00002'`, // the owner changed, tandem never saw it
      `INSERT INTO customers (cust_no, name, email, credit_limit) VALUES ('K00009', 'Zeta', 'z@x.example', 900)`, // one side only
      `UPDATE orders SET status = 'hold' WHERE order_no = 2`);

    const { code, report } = await compare();
    expect(code).toBe(1);
    const customer = report.entities.find((e) => e.entity === 'customer')!;
    const find = (pred: (d: Difference) => boolean) => customer.differences.filter(pred);
    expect(customer.byKind).toEqual({ missing: 1, unlinked: 1, deleted: 0, field: 3 });
    expect(customer.recordsMismatched).toBe(5);
    expect(find((d) => d.key === 'erp:K00001')).toMatchObject([
      { kind: 'field', field: 'credit_limit', wrong: ['crm'], values: { erp: '100.00', crm: '999.00', canonical: '100.00' }, right: { value: '100.00', by: 'customer.credit_limit owner=erp' } },
    ]);
    expect(find((d) => d.key === 'erp:K00002')).toMatchObject([
      { kind: 'field', field: 'credit_limit', wrong: ['crm', 'canonical'], right: { value: '250.00', by: 'customer.credit_limit owner=erp' } },
    ]);
    expect(find((d) => d.key === 'erp:K00003')).toMatchObject([{ kind: 'missing', wrong: ['crm'], localKeys: { erp: 'K00003' } }]);
    expect(find((d) => d.key === 'erp:K00005')).toMatchObject([
      { kind: 'field', field: 'name', wrong: ['crm'], values: { erp: 'Epsilon', crm: 'Epsilon Renamed' }, right: { value: 'Epsilon', by: 'customer.name latest-wins (canonical record)' } },
    ]);
    expect(find((d) => d.key === 'erp:K00009')).toMatchObject([{ kind: 'unlinked', wrong: ['erp'], localKeys: { erp: 'K00009' } }]);
    const order = report.entities.find((e) => e.entity === 'sales_order')!;
    expect(order.differences).toMatchObject([{ kind: 'field', field: 'status', wrong: ['crm', 'canonical'], right: { value: 'on_hold' } }]);
    expect(order.fieldsMismatched).toEqual({ status: 1 });
    expect(report.entities.find((e) => e.entity === 'order_line')!.recordsMismatched).toBe(0);
    const table = bufferIo();
    expect(await runCompareCommand({ config: configFile, entity: ['customer'] }, table)).toBe(1);
    expect(table.stdout()).toContain('DIFFER: systems hold values the rules say they should not.');
    expect(table.stdout()).toContain('customer erp:K00001 credit_limit: differs in crm; erp="100.00" crm="999.00" canonical="100.00" ; right: "100.00" (customer.credit_limit owner=erp)');
    expect(table.stdout()).toContain('customer erp:K00009 unlinked row in erp (erp K00009): no live record is linked to this row');
    if (process.env.COMPARE_SHOW) writeFileSync(process.env.COMPARE_SHOW, table.stdout());
    const csv = bufferIo();
    await runCompareCommand({ config: configFile, entity: ['sales_order'], format: 'csv' }, csv);
    expect(csv.stdout().split('\n')[0]).toBe('entity,kind,key,field,wrong,right,right_by,values,local_keys,explained_by,explained_id');
    expect(csv.stdout()).toContain('sales_order,field,erp:2,status,crm canonical,"""on_hold""",');
  });

  it('--repair queues the rule-correct values, logs each repair, and the pipeline brings compare back to 0', async () => {
    const before = Number((await state(`SELECT count(*) FROM ${world.names.schema}.conflicts`))[0]!.count);
    const repaired = await compare({ repair: true });
    expect(repaired.code).toBe(1);
    expect(repaired.report.repairs).toMatchObject({ skippedTotal: 0 });
    expect(repaired.report.repairs!.tasks).toBeGreaterThanOrEqual(5);
    const logged = await state(`SELECT key, field, system, decision, rule, kept_value FROM ${world.names.schema}.conflicts WHERE id > $1 ORDER BY id`, [before]);
    expect(logged.every((r) => r.decision === 'repair' && String(r.rule).startsWith(`compare ${repaired.report.runId}`))).toBe(true);
    expect(logged).toEqual(expect.arrayContaining([
      expect.objectContaining({ key: 'erp:K00001', field: 'credit_limit', system: 'crm', kept_value: '100.00' }),
      expect.objectContaining({ key: 'erp:K00002', field: 'credit_limit', system: 'canonical', kept_value: '250.00' }),
      expect.objectContaining({ key: 'erp:K00002', field: 'credit_limit', system: 'crm', kept_value: '250.00' }),
      expect.objectContaining({ key: 'erp:K00003', field: '*', system: 'crm' }),
      expect.objectContaining({ key: 'erp:K00009', field: '*', system: 'canonical' }),
    ]));
    // The queued writes explain what is left until the service delivers them.
    const pending = await compare();
    expect(pending.code).toBe(0);
    expect(pending.report.entities.find((e) => e.entity === 'customer')!.explainedInFlight).toBeGreaterThan(0);

    await start();
    const after = await compare();
    expect(after.report.entities.map((e) => [e.entity, e.recordsMismatched])).toEqual([['customer', 0], ['sales_order', 0], ['order_line', 0]]);
    expect(after.code).toBe(0);
    expect((await crm(`SELECT credit_limit FROM accounts WHERE id = $1`, [await accountOf('K00001')]))[0]!.credit_limit).toBe('100.00');
    expect((await crm(`SELECT account_name, credit_limit FROM accounts WHERE id = $1`, [await accountOf('K00009')]))[0]).toEqual({ account_name: 'Zeta', credit_limit: '900.00' });
    expect((await crm(`SELECT count(*)::int AS n FROM accounts`))[0]!.n).toBe(6);

    const io = bufferIo();
    expect(await runConflictsVerify({ config: configFile }, io)).toBe(0);
    expect(io.stdout()).toContain('conflict log intact');
  }, 120_000);
});
