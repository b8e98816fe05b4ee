import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { ConfigError } from '../../src/errors';

const base = `
stateStore: { url: { env: STATE_URL } }
systems:
  erp: { type: postgres, url: { env: ERP_URL } }
  crm: { type: postgres, url: { env: CRM_URL } }
entities:
  customer: { owner: erp }
mappings:
  - { system: erp, table: customers, entity: customer, key: { columns: [id] }, fields: { id: id, name: name } }
  - { system: crm, table: accounts, entity: customer, key: { columns: [id], generated: uuid }, fields: { name: account_name } }
`;
const parse = (extra: string) => parseConfig(`${base}${extra}`, '/virtual/tandem.yaml', {});

describe('reconcile (scheduled compare) configuration', () => {
  it('reads durations as milliseconds, with every entity and no repair by default', () => {
    expect(parse('reconcile: { every: 1h }').config.reconcile).toEqual({ every: 3_600_000, entities: [], repair: false });
    expect(parse('reconcile: { every: 15m, entities: [customer], repair: true }').config.reconcile).toEqual({ every: 900_000, entities: ['customer'], repair: true });
    expect(parse('reconcile: { every: 500ms }').config.reconcile?.every).toBe(500);
    expect(parse('').config.reconcile).toBeUndefined();
  });

  it('refuses a duration without a unit and an unknown entity, naming the path', () => {
    expect(() => parse('reconcile: { every: 60 }')).toThrow(ConfigError);
    expect(() => parse('reconcile: { every: "1 hour" }')).toThrow(/reconcile\.every.*a duration such as 30s, 15m, 1h or 1d/s);
    expect(() => parse('reconcile: { every: 1h, entities: [invoice] }')).toThrow(/reconcile\.entities\[0\] \(line 11\): unknown entity "invoice"/);
  });
});
