import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSpec, envSettings, parseConfig, readAllSecrets, readSecret } from '../../src/config';
import { ConfigError } from '../../src/errors';

const base = `
stateStore: { url: { env: STATE_URL } }
systems:
  erp:
    type: postgres
    url: { env: ERP_URL }
    capture: { slot: s_erp, publication: p_erp }
  crm:
    type: mysql
    url: { file: crm-url.txt }
entities:
  customer: { owner: erp }
mappings:
  - { system: erp, table: customers, entity: customer, key: { columns: [id] }, fields: { id: id, name: name } }
  - { system: crm, table: crm.accounts, entity: customer, key: { columns: [id], generated: uuid }, fields: { name: account_name } }
pipeline: { allowNoRedis: true }
`;

describe('configuration', () => {
  it('derives environment variable names from the spec and applies them over the file', () => {
    const names = envSettings(configSpec).map((s) => s.variable);
    expect(names).toContain('TANDEM_PIPELINE_APPLY_CONCURRENCY');
    expect(names).toContain('TANDEM_METRICS_PORT');
    const loaded = parseConfig(base, 'base.yaml', { TANDEM_PIPELINE_APPLY_CONCURRENCY: '3', TANDEM_PIPELINE_ALLOW_NO_REDIS: 'false', TANDEM_LOG_LEVEL: 'debug' });
    expect(loaded.config.pipeline.applyConcurrency).toBe(3);
    expect(loaded.config.pipeline.allowNoRedis).toBe(false);
    expect(loaded.config.log.level).toBe('debug');
    expect(loaded.overrides.sort()).toEqual(['TANDEM_LOG_LEVEL', 'TANDEM_PIPELINE_ALLOW_NO_REDIS', 'TANDEM_PIPELINE_APPLY_CONCURRENCY']);
  });

  it('pipeline.scaleOut: off by default (one instance, apply intents); TANDEM_PIPELINE_SCALE_OUT turns it on', () => {
    expect(parseConfig(base, 'base.yaml', {}).config.pipeline.scaleOut).toBe(false);
    expect(parseConfig(base, 'base.yaml', { TANDEM_PIPELINE_SCALE_OUT: 'true' }).config.pipeline.scaleOut).toBe(true);
  });

  it('health and snapshot-progress settings: defaults, and overridable from the environment', () => {
    expect(parseConfig(base, 'base.yaml', {}).config).toMatchObject({ health: { stallSeconds: 20, chainVerifyEvery: 3_600_000 }, log: { progressSeconds: 5 } });
    const loaded = parseConfig(base, 'base.yaml', { TANDEM_HEALTH_STALL_SECONDS: '7', TANDEM_HEALTH_CHAIN_VERIFY_EVERY: '10m', TANDEM_LOG_PROGRESS_SECONDS: '2' });
    expect(loaded.config).toMatchObject({ health: { stallSeconds: 7, chainVerifyEvery: 600_000 }, log: { progressSeconds: 2 } });
    expect(() => parseConfig(base, 'base.yaml', { TANDEM_HEALTH_STALL_SECONDS: '0' })).toThrow(/health\.stallSeconds/);
  });

  it('fills defaults, and the capture settings follow the system type', () => {
    const { config } = parseConfig(base, 'base.yaml', {});
    expect(config.systems.erp!.capture).toMatchObject({ slot: 's_erp', heartbeatMs: 10_000, snapshot: 'initial', maxBatchEvents: 2_000 });
    expect(config.pipeline).toMatchObject({ queueDepth: 4, applyBatch: 500, maxAttempts: 10 });
    const mysqlCapture = base.replace("url: { file: crm-url.txt }", "url: { file: crm-url.txt }\n    capture: { slot: x, publication: y }");
    expect(() => parseConfig(mysqlCapture, 'bad.yaml', {})).toThrow(/systems\.crm\.capture(\.serverId)? \(line \d+\)/);
  });

  it('apply.echoServerId: for mysql systems, distinct from the capture server id', () => {
    const withEcho = (crm: string) => base.replace('url: { file: crm-url.txt }', `url: { file: crm-url.txt }\n${crm}`);
    const { config } = parseConfig(withEcho('    capture: { serverId: 7 }\n    apply: { echoServerId: 8 }'), 'echo.yaml', {});
    expect(config.systems.crm!.apply.echoServerId).toBe(8);
    expect(config.systems.erp!.apply.echoServerId).toBeUndefined();
    expect(() => parseConfig(withEcho('    capture: { serverId: 7 }\n    apply: { echoServerId: 7 }'), 'same.yaml', {})).toThrow(/systems\.crm\.apply\.echoServerId/);
    const onPostgres = base.replace('capture: { slot: s_erp, publication: p_erp }', 'capture: { slot: s_erp, publication: p_erp }\n    apply: { echoServerId: 8 }');
    expect(() => parseConfig(onPostgres, 'pg.yaml', {})).toThrow(/systems\.erp\.apply\.echoServerId/);
  });

  it('a rules version is the hash of the file: any edit changes it', () => {
    expect(parseConfig(base, 'a.yaml', {}).version).toBe(parseConfig(base, 'b.yaml', {}).version);
    expect(parseConfig(`${base}\n# comment`, 'a.yaml', {}).version).not.toBe(parseConfig(base, 'a.yaml', {}).version);
  });

  it('reads secrets from the environment and from files relative to the config, never from the file itself', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-config-'));
    writeFileSync(join(dir, 'crm-url.txt'), 'mysql://u:p@h/crm\n');
    const file = join(dir, 'tandem.yaml');
    const loaded = parseConfig(base, file, {});
    expect(readSecret({ file: 'crm-url.txt' }, 'systems.crm.url', {}, dir)).toBe('mysql://u:p@h/crm');
    expect(() => readAllSecrets(loaded, { ERP_URL: 'postgres://x' })).toThrow(ConfigError);
    try {
      readAllSecrets(loaded, { ERP_URL: 'postgres://x' });
    } catch (error) {
      expect((error as ConfigError).message).toBe('environment variable STATE_URL is not set');
      expect((error as ConfigError).context).toMatchObject({ file, path: 'stateStore.url (line 2)' });
    }
    expect(() => readAllSecrets(loaded, { STATE_URL: 's', ERP_URL: 'e' })).not.toThrow();
    expect(() => parseConfig(base.replace('{ env: ERP_URL }', '"postgres://u:secret@h/erp"'), 'x.yaml', {})).toThrow(/systems\.erp\.url/);
  });

  it('cross-checks names and says where', () => {
    const wrong = base.replace('entity: customer, key: { columns: [id], generated: uuid }', 'entity: client, key: { columns: [id], generated: uuid }');
    expect(() => parseConfig(wrong, 'w.yaml', {})).toThrow(/mappings\[1\]\.entity \(line \d+\): unknown entity "client"/);
  });
});
