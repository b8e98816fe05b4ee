/**
 * The CLI in a shell, as the real binary against a real PostgreSQL:
 * TANDEM_CONFIG instead of --config, `status --json` (stable field names),
 * `status --watch` ended by Ctrl-C, a reader that closes the pipe early
 * (`| head`) ending the command quietly with exit 0, and a connection error
 * naming the system, address, setting and variable.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConflictEntry } from '../../src/conflict';
import { serveMetrics } from '../../src/metrics';
import { appendConflicts, connectStateStore, migrateStateStore } from '../../src/store';
import { createPgDatabase, requireEnv, TEST_ENV, type TestDatabase } from '../support';
import { BIN, ROOT, runTandem } from '../e2e/child';
import { freshNames, twoWayConfig } from '../e2e/harness';

/** Enough conflict-log rows that an export is far larger than a pipe's buffer. */
const MANY = 3000;

describe('tandem in a shell, against PostgreSQL', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const names = freshNames('shell');
  let dir: string;
  let file: string;
  let state: TestDatabase;
  let env: Record<string, string>;
  let metrics: Server;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-shell-'));
    file = join(dir, 'tandem.yaml');
    writeFileSync(file, twoWayConfig({ names, captureCrm: false }));
    state = await createPgDatabase('cli_shell', adminUrl);
    const knex = connectStateStore(state.url, 2);
    try {
      await migrateStateStore(knex, names.schema);
      await knex.withSchema(names.schema).table('checkpoints').insert({ system: 'erp', position: '00000000016B3748', source_time: new Date(Date.now() - 3_000) });
      const conflict: ConflictEntry = {
        entity: 'customer', key: 'erp:K1', field: 'credit_limit', system: 'crm', table: 'public.accounts', position: '00000000016B3700',
        txId: '42', commitTimeMs: Date.now(), correlationId: 'crm@00000000016B3700', attempted: '224300.00', before: '1.00', current: '1.00',
        kept: '1.00', rule: 'customer.credit_limit owner=erp', outcome: 'rejected', patch: [{ op: 'replace', path: '/credit_limit', value: '224300.00' }], corrected: true,
      };
      const entries = Array.from({ length: MANY }, (_, i) => ({ ...conflict, key: `erp:K${i}` }));
      // In slices: one insert's bind parameters are limited to 65535.
      for (let i = 0; i < entries.length; i += 1000) await knex.transaction((trx) => appendConflicts(trx, names.schema, entries.slice(i, i + 1000), 'v1'));
    } finally {
      await knex.destroy();
    }
    // The real metrics server, with the one series status reads from it.
    const registry = new Registry();
    new Counter({ name: 'tandem_events_total', help: 'events', labelNames: ['stage', 'system'], registers: [registry] }).inc({ stage: 'captured', system: 'erp' }, 7);
    metrics = await serveMetrics(registry, { healthy: () => true, ready: async () => ({ ready: true, detail: 'source:erp: ok\nstate store: ok' }) }, '127.0.0.1', 0);
    const port = (metrics.address() as AddressInfo).port;
    // No --config anywhere below: TANDEM_CONFIG names the file.
    env = { TANDEM_CONFIG: file, E2E_STATE_URL: state.url, E2E_ERP_URL: state.url, E2E_CRM_URL: state.url, E2E_REDIS_URL: 'redis://127.0.0.1:1', TANDEM_METRICS_PORT: String(port) };
  });

  afterAll(async () => {
    if (metrics) await new Promise((resolve) => metrics.close(resolve));
    await state?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('status --json: one document with the documented field names', async () => {
    const r = await runTandem(['status', '--json'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown> & { sources: Array<Record<string, unknown>>; targets: Array<Record<string, unknown>>; service: Record<string, unknown> };
    expect(Object.keys(report).sort()).toEqual(['conflictsLogged', 'deadLettersOpen', 'exceptionsOpen', 'generatedAt', 'service', 'sources', 'targets']);
    expect(report.conflictsLogged).toBe(MANY);
    // The slot is not created yet: no number, and why.
    expect(report.sources).toEqual([expect.objectContaining({ system: 'erp', position: '00000000016B3748', retainedBytes: null, retainedNote: 'no slot' })]);
    expect(Object.keys(report.sources[0]!).sort()).toEqual(['lagSeconds', 'position', 'retainedBytes', 'retainedNote', 'system']);
    expect(report.sources[0]!.lagSeconds).toBeGreaterThanOrEqual(2);
    expect(report.targets.map((t) => Object.keys(t).sort())).toContainEqual(['dead', 'held', 'inflight', 'pending', 'supersededLastHour', 'system']);
    expect(report.service).toMatchObject({
      reachable: true, readyzStatus: 200, components: ['source:erp: ok', 'state store: ok'],
      events: [{ stage: 'captured', system: 'erp', events: 7 }],
    });
    expect(Number.isNaN(Date.parse(report.generatedAt as string))).toBe(false);
  });

  it('status --watch redraws until Ctrl-C, then ends quietly with exit 0', async () => {
    const child = spawn(process.execPath, [BIN, 'status', '--json', '--watch', '1'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (stdout.split('\n').filter(Boolean).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    // Watching JSON: one document per line.
    const documents = stdout.trim().split('\n').map((line) => JSON.parse(line) as { generatedAt: string });
    expect(documents.length).toBeGreaterThanOrEqual(2);
    expect(Date.parse(documents[1]!.generatedAt) - Date.parse(documents[0]!.generatedAt)).toBeGreaterThanOrEqual(900);
  });

  it('a reader that closes the pipe before anything is written: exit 0, nothing on stderr', async () => {
    for (const args of [['status'], ['conflicts', 'list'], ['conflicts', 'export']]) {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      expect({ args, code, stderr }).toEqual({ args, code: 0, stderr: '' });
    }
  });

  it('`conflicts export | head -2` and `status | head -1` in a shell: exit 0, no stack trace', async () => {
    const shell = async (command: string) => {
      const child = spawn('bash', ['-o', 'pipefail', '-c', command], { cwd: ROOT, env: { ...process.env, ...env, TANDEM: `${process.execPath} ${BIN}` }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      return { code, stdout, stderr };
    };
    const exported = await shell('$TANDEM conflicts export | head -2');
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    const lines = exported.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^id,loggedAt,/);
    // A plain decimal, as a spreadsheet should show it.
    expect(lines[1]).toContain(',224300.00,');
    const status = await shell('$TANDEM status | head -1');
    expect(status).toEqual({ code: 0, stdout: expect.stringMatching(/^source\s+position/), stderr: '' });
  });

  it('an unreachable state store is named with its address, setting and variable, without the password', async () => {
    const r = await runTandem(['conflicts', 'list'], { ...env, E2E_STATE_URL: 'postgresql://u:hidden-pw@127.0.0.1:1/x' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('tandem: state store not reachable at 127.0.0.1:1 (stateStore.url from E2E_STATE_URL): ECONNREFUSED\n');
    const status = await runTandem(['status'], { ...env, E2E_STATE_URL: 'postgresql://u:hidden-pw@127.0.0.1:1/x' });
    expect(status.stderr).toContain('state store not reachable at 127.0.0.1:1 (stateStore.url from E2E_STATE_URL): ECONNREFUSED');
    expect(status.stderr).not.toContain('hidden-pw');
  });

  it('a source system that refuses: status reports it in the slot column, naming the system and its variable', async () => {
    const r = await runTandem(['status', '--json'], { ...env, E2E_ERP_URL: 'postgresql://u:hidden-pw@127.0.0.1:1/erp' });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { sources: Array<{ retainedNote: string | null }> };
    expect(report.sources[0]!.retainedNote).toMatch(/^error: .*ECONNREFUSED.* \(systems\.erp\.url from E2E_ERP_URL\)$/);
    expect(r.stdout).not.toContain('hidden-pw');
  });
});
