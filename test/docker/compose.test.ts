import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { crmSchemaSql, erpSchemaSql } from '../../src/demo/schema';

// docker/ cannot be run here (no Docker engine), so check what can be checked:
// the files it names exist, the config it runs is valid and in step with the demo's.
const dockerDir = resolve(import.meta.dirname, '../../docker');
const read = (name: string) => readFileSync(resolve(dockerDir, name), 'utf8');

interface Service { volumes?: string[]; command?: string[]; environment?: Record<string, string>; depends_on?: Record<string, unknown>; build?: { dockerfile: string; context: string } }

describe('docker/compose.yaml', () => {
  const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, Service>; secrets: Record<string, { file: string }> };

  it('has the databases, Redis and tandem, with logical decoding on the captured databases', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['crm-db', 'erp-db', 'redis', 'state-db', 'tandem']);
    for (const name of ['erp-db', 'crm-db']) expect(compose.services[name]!.command).toContain('wal_level=logical');
    expect(Object.keys(compose.services.tandem!.depends_on!).sort()).toEqual(['crm-db', 'erp-db', 'redis', 'state-db']);
  });

  it('mounts only files that exist', () => {
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) expect(existsSync(resolve(dockerDir, volume.split(':')[0]!)), volume).toBe(true);
    }
    for (const secret of Object.values(compose.secrets)) expect(existsSync(resolve(dockerDir, secret.file))).toBe(true);
    expect(existsSync(resolve(dockerDir, '..', compose.services.tandem!.build!.dockerfile))).toBe(true);
  });

  it('initialises the databases with the demo schema, as generated', () => {
    expect(read('init/erp.sql')).toContain(erpSchemaSql());
    expect(read('init/crm.sql')).toContain(crmSchemaSql());
  });

  it('runs a valid configuration that differs from config/demo.yaml only by using Redis', () => {
    const env = { TANDEM_STATE_URL: 'x', ERP_DATABASE_URL: 'x', CRM_DATABASE_URL: 'x', TANDEM_REDIS_URL: 'x' };
    const docker = parseConfig(read('tandem.yaml'), 'docker/tandem.yaml', env).config;
    const demoFile = resolve(dirname(dockerDir), 'config/demo.yaml');
    const demo = parseConfig(readFileSync(demoFile, 'utf8'), demoFile, env).config;
    expect(docker.redis).toEqual({ url: { env: 'TANDEM_REDIS_URL' }, keyPrefix: 'tandem:' });
    expect({ ...docker, redis: undefined, pipeline: { ...docker.pipeline, allowNoRedis: true } }).toEqual({ ...demo, redis: undefined });
  });

  it('keeps secrets out of the compose file: URLs are built from the password secret', () => {
    const text = read('compose.yaml');
    expect(text).not.toMatch(/postgres(ql)?:\/\/[^$\s]*:[^@$\s]+@/);
    expect(read('tandem-env.sh')).toContain('/run/secrets/db_password');
  });
});
