import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config';
import { createTargets } from '../../../src/pipeline/runtime';
import { RestTarget } from '../../../src/apply';

const base = (rest: string, extra = '') => `
stateStore: { url: { env: S } }
systems:
  crm: { type: postgres, url: { env: CRM } }
  saas:
    type: rest
    url: { env: SAAS_URL }
${rest}${extra}
entities:
  customer: { owner: crm }
mappings:
  - { system: crm, table: accounts, entity: customer, key: { columns: [id], generated: uuid }, fields: { name: name } }
  - { system: saas, table: accounts, entity: customer, key: { columns: [id], generated: database }, fields: { name: name, email: contact.email } }
`;
const REST = `    rest:
      auth: { apiKey: { header: X-Api-Key, value: { env: SAAS_KEY } } }
      rateLimitPerSecond: 10
      endpoints:
        customer: { create: { method: POST, path: /accounts }, update: { method: PATCH, path: "/accounts/{id}" } }`;
const env = { S: 'postgresql://x@h/s', CRM: 'postgresql://x@h/c', SAAS_URL: 'https://api.example.test', SAAS_KEY: 'k' };

describe('rest system configuration', () => {
  it('parses with defaults and builds a RestTarget', () => {
    const loaded = parseConfig(base(REST), '/virtual/rest.yaml', env);
    const rest = loaded.config.systems['saas']!.rest!;
    expect(rest.timeoutMs).toBe(10_000);
    expect(rest.circuitBreaker).toEqual({ failureThreshold: 5, resetMs: 30_000 });
    expect(rest.endpoints['customer']!.idField).toBe('id');
    const targets = createTargets(loaded.config, env);
    expect(targets.get('saas')).toBeInstanceOf(RestTarget);
  });

  it('refuses capture of a rest system, an update path without {id}, and a mapped entity without an endpoint', () => {
    expect(() => parseConfig(base(REST, '\n    capture: { slot: s, publication: p }'), '/virtual/rest.yaml', env)).toThrow(/target only/);
    expect(() => parseConfig(base(REST.replace('"/accounts/{id}"', '/accounts')), '/virtual/rest.yaml', env)).toThrow(/must hold \{id\}/);
    expect(() => parseConfig(base(REST.replace('customer: { create', 'other: { create')), '/virtual/rest.yaml', env)).toThrow(/has no endpoint/);
    expect(() => parseConfig(base('    rest: { endpoints: {}, auth: { bearer: "literal" } }'), '/virtual/rest.yaml', env)).toThrow(/systems\.saas\.rest\.auth/);
  });

  it('a missing secret names its path', () => {
    const loaded = parseConfig(base(REST), '/virtual/rest.yaml', env);
    expect(() => createTargets(loaded.config, { ...env, SAAS_KEY: undefined })).toThrow(/systems\.saas\.rest\.auth\.apiKey\.value|SAAS_KEY/);
  });
});
