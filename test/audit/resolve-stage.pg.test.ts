/**
 * Checkpoints wired into the resolve stage: the real resolve stage fills the
 * conflict log with an audit runtime running beside it, which signs the
 * chain (in the batch transaction, and on time for the rows after) and
 * publishes to a file and to a webhook (a real HTTP server that fails its
 * first request, so the delivery is retried).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointSignatureProblem, createAudit, generateSigningKeyPair, parseCheckpointLine, parsePublicKey, type PublishedCheckpoint } from '../../src/audit';
import { runConflictsVerify } from '../../src/cli/conflicts/verify';
import { bufferIo } from '../../src/cli/io';
import { parseConfig } from '../../src/config';
import { silentLogger } from '../../src/log';
import { connectStateStore, migrateStateStore, readChainHead } from '../../src/store';
import { createPgDatabase, requireEnv, TEST_ENV, waitFor, type TestDatabase } from '../support';
import { configText, fillStateStore, loadText, SCHEMA } from '../cli/review-fixture';

describe('checkpoints from the resolve stage', () => {
  requireEnv(TEST_ENV.pg);
  const keys = generateSigningKeyPair();
  let db: TestDatabase;
  let knex: Knex;
  let dir: string;
  let server: Server;
  const received: PublishedCheckpoint[] = [];
  let requests = 0;

  beforeAll(async () => {
    db = await createPgDatabase('audit_resolve');
    knex = connectStateStore(db.url, 4);
    await migrateStateStore(knex, SCHEMA);
    dir = mkdtempSync(join(tmpdir(), 'tandem-audit-resolve-'));
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        // The first delivery fails: it must be retried, not lost.
        if (++requests === 1) return void res.writeHead(503).end();
        received.push(JSON.parse(body) as PublishedCheckpoint);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await knex?.destroy();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('signs in the batch transaction and on time, publishes to the file and the webhook, and verify accepts both', async () => {
    const file = join(dir, 'tandem.yaml');
    const text = `${configText()}audit:
  signingKey: { file: signing.key }
  checkpointEvery: { rows: 100, interval: 1s }
  sinks:
    file: checkpoints.jsonl
    webhook: { env: AUDIT_WEBHOOK }
`;
    writeFileSync(file, text);
    writeFileSync(join(dir, 'signing.key'), keys.privatePem, { mode: 0o600 });
    const env = { CLI_STATE_URL: db.url, AUDIT_WEBHOOK: `http://127.0.0.1:${(server.address() as AddressInfo).port}/checkpoints` };
    process.env.CLI_STATE_URL = db.url;
    const loaded = parseConfig(text, file, {});
    expect(loaded.config.audit!.checkpointEvery.interval).toBe(1_000);

    const audit = createAudit(loaded.config.audit!, { store: knex, schema: SCHEMA, logger: silentLogger(), env, baseDir: dir, pollMs: 100 });
    const stop = new AbortController();
    const loop = audit.run(stop.signal);
    try {
      await fillStateStore(knex, loadText(configText(), file), { audit });
      const head = await readChainHead(knex, SCHEMA);
      expect(Number(head.seq)).toBeGreaterThan(1);
      const checkpoints = join(dir, 'checkpoints.jsonl');
      // The first batch with conflicts is signed at once; the rest within the interval, by the loop.
      const lines = (await waitFor(() => {
        const all = readFileSync(checkpoints, 'utf8').trim().split('\n').map(parseCheckpointLine);
        return all.at(-1)?.seq === head.seq && received.at(-1)?.seq === head.seq ? all : null;
      }, { timeoutMs: 20_000, message: 'the head was not checkpointed and published' }))!;
      const firstConflict = await knex.withSchema(SCHEMA).table('conflicts').orderBy('id').first('id');
      expect(lines[0]!.seq).toBe(String(firstConflict.id));
      expect(received).toEqual(lines);
      expect(requests).toBe(lines.length + 1);
      const publicKey = parsePublicKey(keys.publicPem);
      for (const line of lines) expect(checkpointSignatureProblem(line, [publicKey])).toBeNull();
      expect(await knex.withSchema(SCHEMA).table('audit_sink_progress').where({ sink: 'webhook' }).first()).toMatchObject({ checkpoint_id: lines.at(-1)!.id });

      const publicKeyFile = join(dir, 'audit.pub');
      writeFileSync(publicKeyFile, keys.publicPem);
      const io = bufferIo();
      const code = await runConflictsVerify({ config: file, checkpoints, publicKey: [publicKeyFile], expectHead: `${head.seq}:${head.hash}` }, io);
      expect(io.stderr()).toBe('');
      expect(code).toBe(0);
      expect(io.stdout()).toContain(`checkpoints: ${lines.length} in ${checkpoints}, signatures verified with key ${keys.keyId}`);
      expect(io.stdout()).toContain(`head: ${head.seq}:${head.hash}`);
      expect(io.stdout()).not.toContain('not yet anchored');
    } finally {
      stop.abort();
      await loop;
      await audit.close();
    }
  });
});
