/**
 * The `tandem` binary against a real PostgreSQL: `tandem status` prints its
 * tables from a state store, and an unset secret is reported with its line
 * even when everything read before it is reachable.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConflictEntry } from '../../src/conflict';
import { appendConflicts, connectStateStore, migrateStateStore } from '../../src/store';
import { createPgDatabase, requireEnv, TEST_ENV, type TestDatabase } from '../support';
import { runTandem } from '../e2e/child';
import { exec, freshNames, twoWayConfig } from '../e2e/harness';

describe('tandem CLI against PostgreSQL', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const names = freshNames('clipg');
  const schema = names.schema;
  const text = twoWayConfig({ names });
  let dir: string;
  let file: string;
  let state: TestDatabase;
  let erp: TestDatabase;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-clipg-'));
    file = join(dir, 'tandem.yaml');
    writeFileSync(file, text);
    [state, erp] = await Promise.all([createPgDatabase('cli_state', adminUrl), createPgDatabase('cli_erp', adminUrl)]);
    // The CRM URL points at the same database as the ERP: status only asks it about its slot.
    env = { E2E_STATE_URL: state.url, E2E_ERP_URL: erp.url, E2E_CRM_URL: erp.url, E2E_REDIS_URL: 'redis://127.0.0.1:1' };

    const knex = connectStateStore(state.url, 2);
    try {
      await migrateStateStore(knex, schema);
      await knex.withSchema(schema).table('checkpoints').insert({ system: 'erp', position: '00000000016B3748', source_time: new Date(Date.now() - 5_000) });
      const task = (target: string, status: string) => ({
        target, entity: 'customer', key: `erp:K${Math.random()}`, op: 'upsert', fields: '{}', expected: '{}', record: '{}', reason: 'propagate', correlation_id: 'erp@1', status,
      });
      await knex.withSchema(schema).table('outbox').insert([
        task('crm', 'pending'), task('crm', 'pending'), task('crm', 'pending'), task('crm', 'dead'), task('erp', 'done'), task('erp', 'done'),
      ]);
      const letter = { kind: 'event', system: 'erp', error_code: 'VALUE_UNCONVERTIBLE', error: 'x', payload: '{}' };
      await knex.withSchema(schema).table('dead_letters').insert([letter, letter, { ...letter, status: 'replayed' }]);
      const conflict: ConflictEntry = {
        entity: 'customer', key: 'erp:K1', field: 'credit_limit', system: 'crm', table: 'public.accounts', position: '00000000016B3700',
        txId: '42', commitTimeMs: Date.now(), correlationId: 'crm@00000000016B3700', attempted: '9.00', before: '1.00', current: '1.00',
        kept: '1.00', rule: 'customer.credit_limit owner=erp', outcome: 'rejected', patch: [], corrected: true,
      };
      await knex.transaction((trx) => appendConflicts(trx, schema, [conflict, { ...conflict, key: 'erp:K2' }], 'v1'));
    } finally {
      await knex.destroy();
    }
    // A slot for the ERP, so its retained WAL has a number.
    await exec(erp.url, `SELECT pg_create_logical_replication_slot('${names.erpSlot}', 'pgoutput')`);
  });

  afterAll(async () => {
    await Promise.all([state?.drop(), erp?.drop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('tandem status prints the sources, the outbox per target, conflicts and dead letters', async () => {
    const r = await runTandem(['status', '--config', file], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const row = (first: string) => lines.find((l) => l.split(/\s{2,}/)[0] === first)?.split(/\s{2,}/);

    expect(r.stdout).toMatch(/^source\s+position\s+lag \(s\)\s+slot retained WAL$/m);
    const erpRow = row('erp')!;
    expect(erpRow[1]).toBe('00000000016B3748');
    expect(Number(erpRow[2])).toBeGreaterThanOrEqual(4);
    expect(Number(erpRow[2])).toBeLessThan(120);
    expect(erpRow[3]).toMatch(/^\d+(\.\d)? (B|kB|MB)$/);
    expect(row('crm')!.slice(1)).toEqual(['-', '-', 'no slot']);

    expect(r.stdout).toMatch(/^target\s+pending\s+in flight\s+held\s+dead\s+superseded \(last hour\)$/m);
    const targets = lines.filter((l) => /^(erp|crm)\s+\d/.test(l)).map((l) => l.split(/\s+/));
    expect(targets).toContainEqual(['crm', '3', '0', '0', '1', '0']);
    expect(targets).toContainEqual(['erp', '0', '0', '0', '0', '2']);

    expect(r.stdout).toMatch(/^conflicts logged\s+dead letters open\s+exceptions open$/m);
    expect(r.stdout).toMatch(/^2\s+2\s+0$/m);
    expect(r.stdout).toMatch(/service metrics not reachable|live from/);
  });

  it('tandem status with an unreachable state store exits 1 and says so', async () => {
    const r = await runTandem(['status', '--config', file], { ...env, E2E_STATE_URL: 'postgresql://u:hidden-pw@127.0.0.1:1/x' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ECONNREFUSED|connect/);
    expect(r.stderr).not.toContain('hidden-pw');
  });

  it('an unset secret, everything read before it reachable: exit 2 naming file, path and line', async () => {
    const r = await runTandem(['run', '--config', file], { ...env, E2E_REDIS_URL: process.env[TEST_ENV.redis] ?? '', E2E_CRM_URL: '' }, 60_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('systems.crm.url');
    expect(r.stderr).toContain('E2E_CRM_URL');
    const line = text.split('\n').findIndex((l) => l.includes('url: { env: E2E_CRM_URL }')) + 1;
    expect(r.stderr).toContain(`line ${line}`);
  });
});
