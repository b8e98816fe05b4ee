/**
 * The `audit` section of the configuration and `tandem audit keygen`: the
 * defaults, what is refused, secrets read like every other secret, and key
 * files that verify's and the pipeline's loaders accept.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointSigner, createAudit, keyIdOf, parsePublicKey, parseSigningKey } from '../../src/audit';
import { runAuditKeygen } from '../../src/cli/audit/keygen';
import { bufferIo } from '../../src/cli/io';
import { parseConfig, readAllSecrets } from '../../src/config';
import { ConfigError } from '../../src/errors';
import { silentLogger } from '../../src/log';
import type { Knex } from 'knex';

const base = `
stateStore: { url: { env: STATE_URL } }
systems:
  erp: { type: postgres, url: { env: ERP_URL } }
entities:
  customer: { owner: erp }
mappings:
  - { system: erp, table: customers, entity: customer, key: { columns: [id] }, fields: { id: id, name: name } }
pipeline: { allowNoRedis: true }
`;

const dir = mkdtempSync(join(tmpdir(), 'tandem-audit-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function parse(audit: string) {
  return parseConfig(`${base}audit:\n${audit}`, join(dir, 'tandem.yaml'), {});
}

describe('audit configuration', () => {
  it('defaults to a checkpoint every 1000 rows or 5 minutes', () => {
    const { config } = parse('  signingKey: { env: AUDIT_KEY }\n  sinks: { file: checkpoints.jsonl }\n');
    expect(config.audit).toEqual({ signingKey: { env: 'AUDIT_KEY' }, checkpointEvery: { rows: 1000, interval: 300_000 }, sinks: { file: 'checkpoints.jsonl' } });
    expect(parse('  signingKey: { env: K }\n  checkpointEvery: { rows: 10, interval: 90s }\n  sinks: { file: f }\n').config.audit!.checkpointEvery).toEqual({ rows: 10, interval: 90_000 });
  });

  it('refuses a literal key, no sink, and an interval without a unit, naming the path', () => {
    expect(() => parse('  signingKey: "-----BEGIN PRIVATE KEY-----"\n  sinks: { file: f }\n')).toThrow(/audit\.signingKey/);
    expect(() => parse('  signingKey: { env: K }\n  sinks: {}\n')).toThrow(/audit\.sinks.*at least one sink/s);
    expect(() => parse('  signingKey: { env: K }\n  checkpointEvery: { interval: 300 }\n  sinks: { file: f }\n')).toThrow(/audit\.checkpointEvery\.interval/);
    expect(() => parse('  signingKey: { env: K }\n  sinks: { webhook: "https://hooks.example/x?token=1" }\n')).toThrow(/audit\.sinks\.webhook/);
  });

  it('reads the key and the webhook like every secret, before anything connects', () => {
    const loaded = parse('  signingKey: { env: AUDIT_KEY }\n  sinks: { webhook: { env: AUDIT_HOOK } }\n');
    expect(() => readAllSecrets(loaded, { STATE_URL: 'x', ERP_URL: 'x', AUDIT_HOOK: 'http://h' })).toThrow(/AUDIT_KEY is not set/);
    expect(() => readAllSecrets(loaded, { STATE_URL: 'x', ERP_URL: 'x', AUDIT_KEY: 'k' })).toThrow(/AUDIT_HOOK is not set/);
  });

  it('a signing key that is not Ed25519, or a webhook that is not http(s), is a configuration error that does not print the secret', () => {
    const store = {} as Knex;
    const deps = { store, schema: 's', logger: silentLogger(), baseDir: dir };
    const loaded = parse('  signingKey: { env: AUDIT_KEY }\n  sinks: { webhook: { env: AUDIT_HOOK } }\n');
    const bad = () => createAudit(loaded.config.audit!, { ...deps, env: { AUDIT_KEY: 'c2VjcmV0LXZhbHVl', AUDIT_HOOK: 'http://h' } });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/audit\.signingKey: .*32 bytes/);
    const seed = Buffer.alloc(32, 7).toString('base64');
    const hook = () => createAudit(loaded.config.audit!, { ...deps, env: { AUDIT_KEY: seed, AUDIT_HOOK: 'ftp://user:hunter2@h/x' } });
    expect(hook).toThrow(/audit\.sinks\.webhook is not an http\(s\) URL/);
    expect(hook).not.toThrow(/hunter2/);
  });
});

describe('tandem audit keygen', () => {
  it('prints a key pair that loads and signs', async () => {
    const io = bufferIo();
    expect(await runAuditKeygen({}, io)).toBe(0);
    const out = io.stdout();
    const privatePem = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(out)![0];
    const publicPem = /-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/.exec(out)![0];
    const keyId = /^key id: ([0-9a-f]{16})$/m.exec(out)![1];
    expect(checkpointSigner(parseSigningKey(privatePem)).keyId).toBe(keyId);
    expect(keyIdOf(parsePublicKey(publicPem))).toBe(keyId);
    const raw = /^public key, raw base64: (\S+)$/m.exec(out)![1]!;
    expect(keyIdOf(parsePublicKey(raw))).toBe(keyId);
  });

  it('writes new files, the private one for its owner only, and never overwrites', async () => {
    const privateKey = join(dir, 'audit.key');
    const publicKey = join(dir, 'audit.pub');
    const io = bufferIo();
    expect(await runAuditKeygen({ privateKey, publicKey }, io)).toBe(0);
    expect(io.stdout()).not.toContain('BEGIN PRIVATE KEY');
    expect(statSync(privateKey).mode & 0o777).toBe(0o600);
    const keyId = /^key id: (\S+)$/m.exec(io.stdout())![1];
    expect(checkpointSigner(parseSigningKey(readFileSync(privateKey, 'utf8'))).keyId).toBe(keyId);
    expect(keyIdOf(parsePublicKey(readFileSync(publicKey, 'utf8')))).toBe(keyId);

    writeFileSync(join(dir, 'kept.key'), 'precious');
    const again = bufferIo();
    expect(await runAuditKeygen({ privateKey: join(dir, 'kept.key') }, again)).toBe(2);
    expect(again.stderr()).toMatch(/exists already/);
    expect(readFileSync(join(dir, 'kept.key'), 'utf8')).toBe('precious');
  });
});
