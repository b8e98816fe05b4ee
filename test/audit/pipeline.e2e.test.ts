/**
 * The running service anchors its conflict log: `startPipeline` with an
 * `audit` section signs checkpoints as conflicts are logged (rejected CRM
 * edits of an ERP-owned field) and publishes them to a checkpoint file; the
 * file then catches a truncation that the database alone does not show.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, parseCheckpointLine } from '../../src/audit';
import { runConflictsVerify } from '../../src/cli/conflicts/verify';
import { bufferIo } from '../../src/cli/io';
import { loadConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { waitFor } from '../support';
import { createWorld, memoryLogger, sql, twoWayConfig, type TwoWayWorld } from '../e2e/harness';

describe('the service signs its conflict log', () => {
  let world: TwoWayWorld;
  let pipeline: RunningPipeline | undefined;
  let dir: string;
  const log = memoryLogger();
  const keys = generateSigningKeyPair();

  beforeAll(async () => {
    world = await createWorld('audit');
    dir = mkdtempSync(join(tmpdir(), 'tandem-audit-e2e-'));
  });
  afterAll(async () => {
    await pipeline?.stop();
    await world?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('checkpoints reach the file as conflicts are logged, and the file then catches a truncation', async () => {
    const config = join(dir, 'tandem.yaml');
    const checkpoints = join(dir, 'checkpoints.jsonl');
    writeFileSync(config, `${twoWayConfig({ names: world.names })}
audit:
  signingKey: { env: E2E_AUDIT_KEY }
  checkpointEvery: { rows: 2, interval: 1s }
  sinks:
    file: checkpoints.jsonl
`);
    const env = { ...world.env, E2E_AUDIT_KEY: keys.privatePem };
    Object.assign(process.env, world.env);
    pipeline = await startPipeline(loadConfig(config, env), { env, logger: log.logger, instanceId: 'audit-e2e' });
    const schema = world.names.schema;
    const erp = (text: string, params: unknown[] = []) => sql(world.erp.url, text, params);
    const crm = (text: string, params: unknown[] = []) => sql(world.crm.url, text, params);
    const state = (text: string, params: unknown[] = []) => sql(world.state.url, text, params);

    await erp('INSERT INTO customers (name, email, credit_limit) VALUES ($1, $2, $3)', ['Acme', null, '100.00']);
    await pipeline.drain({ timeoutMs: 30_000 });
    await waitFor(async () => (await crm('SELECT count(*)::int AS n FROM accounts'))[0]!.n === 1, { message: 'the customer did not reach the CRM' });
    for (const limit of ['901.00', '902.00', '903.00', '904.00', '905.00']) {
      await crm('UPDATE accounts SET credit_limit = $1', [limit]);
      await pipeline.drain({ timeoutMs: 30_000 });
    }
    const conflicts = await state(`SELECT id, hash FROM ${schema}.conflicts ORDER BY id`);
    expect(conflicts.length).toBeGreaterThanOrEqual(5);
    const last = conflicts.at(-1)!;
    const lines = (await waitFor(() => {
      const all = readFileSync(checkpoints, 'utf8').trim().split('\n').map(parseCheckpointLine);
      return all.at(-1)?.seq === String(last.id) ? all : null;
    }, { timeoutMs: 20_000, message: () => `the newest conflict was not checkpointed; log:\n${log.lines.join('\n')}` }))!;
    expect(lines.length).toBeGreaterThanOrEqual(2);
    await pipeline.stop();
    pipeline = undefined;

    const publicKey = join(dir, 'audit.pub');
    writeFileSync(publicKey, keys.publicPem);
    const verify = async (options: { checkpoints?: string; publicKey?: string[] } = {}) => {
      const io = bufferIo();
      const code = await runConflictsVerify({ config, ...options }, io);
      return { code, out: io.stdout(), err: io.stderr() };
    };
    const intact = await verify({ checkpoints, publicKey: [publicKey] });
    expect(intact.err).toBe('');
    expect(intact.code).toBe(0);
    expect(intact.out).toContain(`head: ${last.id}:${last.hash}`);

    const keep = conflicts.at(-2)!;
    await state(`BEGIN;
      SET LOCAL session_replication_role = replica;
      DELETE FROM ${schema}.conflicts WHERE id > ${keep.id};
      DELETE FROM ${schema}.audit_checkpoints WHERE seq > ${keep.id};
      UPDATE ${schema}.conflict_chain_head SET last_id = ${keep.id}, hash = '${keep.hash}';
      COMMIT`);
    expect((await verify()).code).toBe(0);
    const caught = await verify({ checkpoints, publicKey: [publicKey] });
    expect(caught.code).toBe(1);
    expect(caught.out).toContain(`conflict log TAMPERED: row #${last.id}: the row is gone`);
  });
});
