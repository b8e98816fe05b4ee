/**
 * Workflow-state ownership on real PostgreSQL: CRM may submit a new order,
 * only ERP may release or hold it. A credit hold set in ERP while CRM
 * "releases" the same order must win and reach CRM, with the refused
 * transition in the conflict log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { connectStateStore, verifyConflictChain } from '../../src/store';
import { createWorld, memoryLogger, sql, twoWayConfig, type TwoWayWorld } from './harness';

function workflowConfig(world: TwoWayWorld): string {
  const base = twoWayConfig({ names: world.names });
  const withStates = base.replace(
    'convert: [{ enum: { new: new, rel: released, hold: on_hold } }]',
    'convert: [{ enum: { new: new, sub: submitted, rel: released, hold: on_hold } }]',
  );
  const withTransitions = withStates.replace(
    `  sales_order:
    owner: erp
    fields:`,
    `  sales_order:
    owner: erp
    fields:
      status: { owner: erp, transitions: { crm: ["new -> submitted"] } }`,
  );
  if (withTransitions === withStates || withStates === base) throw new Error('the e2e harness config changed shape; update this test');
  return withTransitions;
}

describe('workflow-state ownership (PostgreSQL ERP and CRM, Redis)', () => {
  let world: TwoWayWorld;
  let pipeline: RunningPipeline | undefined;
  const log = memoryLogger();
  const erp = (text: string, params: unknown[] = []) => sql(world.erp.url, text, params);
  const crm = (text: string, params: unknown[] = []) => sql(world.crm.url, text, params);
  const state = (text: string, params: unknown[] = []) => sql(world.state.url, text, params);
  const drain = () => pipeline!.drain({ timeoutMs: 30_000 });

  beforeAll(async () => {
    world = await createWorld('workflow');
    const loaded = parseConfig(workflowConfig(world), '/virtual/workflow.yaml', world.env);
    pipeline = await startPipeline(loaded, { env: world.env, logger: log.logger, instanceId: 'workflow-test' });
    await drain();
  });

  afterAll(async () => {
    await pipeline?.stop();
    await world?.cleanup();
  });

  it('CRM may submit; a credit hold set in ERP while CRM releases the order wins and reaches CRM', async () => {
    const [customer] = await erp(`INSERT INTO customers (name, credit_limit) VALUES ('Hold Co', 100) RETURNING cust_no`);
    await drain();
    const [link] = await state(`SELECT local_key FROM ${world.names.schema}.crosswalk WHERE entity = 'customer' AND system = 'crm' AND canonical_key = $1`, [`erp:${customer!.cust_no}`]);
    const [order] = await crm(`INSERT INTO orders (account_id, status, note) VALUES ($1, 'new', 'rush') RETURNING id`, [link!.local_key]);
    await drain();
    const erpOrderOf = async () => (await erp('SELECT order_no, status FROM orders WHERE cust_no = $1', [customer!.cust_no]))[0]!;
    expect((await erpOrderOf()).status).toBe('new');

    // An allowed transition for CRM.
    await crm(`UPDATE orders SET status = 'submitted' WHERE id = $1`, [order!.id]);
    await drain();
    const { order_no: orderNo, status } = await erpOrderOf();
    expect(status).toBe('sub');

    // ERP holds it for credit; CRM, not knowing yet, marks it released.
    await Promise.all([
      erp(`UPDATE orders SET status = 'hold' WHERE order_no = $1`, [orderNo]),
      crm(`UPDATE orders SET status = 'released' WHERE id = $1`, [order!.id]),
    ]);
    await drain();
    await drain();
    expect((await erpOrderOf()).status).toBe('hold');
    expect((await crm('SELECT status FROM orders WHERE id = $1', [order!.id]))[0]!.status).toBe('on_hold');

    const conflicts = await state(
      `SELECT system, field, attempted, kept_value, rule, decision, corrected FROM ${world.names.schema}.conflicts WHERE entity = 'sales_order' ORDER BY id`);
    expect(conflicts).toContainEqual({
      system: 'crm', field: 'status', attempted: 'released', kept_value: expect.stringMatching(/^(submitted|on_hold)$/),
      rule: 'sales_order.status owner=erp workflow', decision: 'rejected', corrected: true,
    });
    const store = connectStateStore(world.state.url, 1);
    try {
      expect((await verifyConflictChain(store, world.names.schema)).ok).toBe(true);
    } finally {
      await store.destroy();
    }
  });
});
