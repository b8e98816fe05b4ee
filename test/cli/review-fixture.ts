/**
 * A small customer configuration and hand-made capture batches that drive the
 * real resolve stage into every kind of conflict-log entry: rejected
 * (credit_limit, owned by the ERP), held (segment, manual review) and
 * accepted/rejected races on name (latest-wins).
 */
import type { Knex } from 'knex';
import type { ChangeBatch, ChangeEvent, Row } from '../../src/capture';
import { compileRules } from '../../src/conflict';
import { parseConfig, type LoadedConfig } from '../../src/config';
import { silentLogger } from '../../src/log';
import { PipelineMetrics } from '../../src/pipeline/metrics';
import { resolveBatch, type ResolveStageDeps } from '../../src/pipeline/resolve-stage';
import { writableFieldsOf } from '../../src/pipeline/runtime';
import { KnexCrosswalk } from '../../src/store';
import { compileMappings } from '../../src/transform';

export const SCHEMA = 'tandem';

export function configText(nameRule = '{ policy: latest-wins }'): string {
  return `stateStore:
  url: { env: CLI_STATE_URL }
  schema: ${SCHEMA}
systems:
  erp:
    type: postgres
    url: { env: CLI_STATE_URL }
  crm:
    type: postgres
    url: { env: CLI_STATE_URL }
entities:
  customer:
    owner: erp
    fields:
      name: ${nameRule}
      email: { owner: crm }
      credit_limit: { owner: erp }
      segment: { policy: manual }
    priority: [erp, crm]
mappings:
  - system: erp
    table: public.customers
    entity: customer
    key: { columns: [customer_no], generated: database }
    fields:
      name: name
      email: email
      credit_limit: credit_limit
      segment: segment
  - system: crm
    table: public.accounts
    entity: customer
    key: { columns: [id], generated: uuid }
    fields:
      name: account_name
      email: email
      credit_limit: credit_limit
      segment: segment
pipeline:
  allowNoRedis: true
`;
}

export const T0 = Date.parse('2025-03-01T12:00:00Z');

let tx = 0;
function event(system: 'erp' | 'crm', seq: number, offsetS: number, before: Row | null, after: Row): ChangeEvent {
  const position = `${seq.toString(16).toUpperCase().padStart(16, '0')}:00000000`;
  const erp = system === 'erp';
  return {
    op: before ? 'u' : 'c', before, after, unavailable: [], keyColumns: [erp ? 'customer_no' : 'id'],
    source: {
      system, connector: 'postgresql', database: system, schema: 'public', table: erp ? 'customers' : 'accounts',
      position, txId: String(++tx), commitTimeMs: T0 + offsetS * 1000, snapshot: 'false', origin: null,
    },
    tsMs: T0 + offsetS * 1000, correlationId: `${system}@${position}`,
  };
}

const erpRow = (r: { name: string; email: string; credit_limit: string; segment: string }): Row => ({ customer_no: 'C1', ...r });
const crmRow = (r: { name: string; email: string; credit_limit: string; segment: string }): Row => ({
  id: 'A1', account_name: r.name, email: r.email, credit_limit: r.credit_limit, segment: r.segment,
});

const start = { name: 'Acme', email: 'a@acme.test', credit_limit: '100.00', segment: 'retail' };

/**
 * The history, as batches in the order the pipeline resolves them. The CRM
 * name edits at steps 5 and 8 are made on top of the current value (accepted
 * under latest-wins, rejected were the ERP to own the name); step 7 is a
 * stale CRM edit that loses either way.
 */
export function history(): ChangeBatch[] {
  const steps: Array<[ 'erp' | 'crm', number, Row | null, Row]> = [
    ['erp', 0, null, erpRow(start)],
    ['crm', 1, null, crmRow(start)],
    ['crm', 2, crmRow(start), crmRow({ ...start, credit_limit: '999.00' })],
    ['crm', 3, crmRow(start), crmRow({ ...start, segment: 'wholesale' })],
    ['crm', 4, crmRow(start), crmRow({ ...start, name: 'Acme Inc' })],
    ['erp', 6, erpRow(start), erpRow({ ...start, name: 'Acme Corp' })],
    ['crm', 5, crmRow({ ...start, name: 'Acme Inc' }), crmRow({ ...start, name: 'ACME' })],
    ['crm', 7, crmRow({ ...start, name: 'Acme Corp' }), crmRow({ ...start, name: 'Acme Corporation' })],
  ];
  const seqs = { erp: 0, crm: 0 };
  return steps.map(([system, offsetS, before, after]) => {
    const e = event(system, ++seqs[system], offsetS, before, after);
    return { system, events: [e], position: e.source.position, sourceTimeMs: e.source.commitTimeMs };
  });
}

/** Runs the history through the real resolve stage into the state store behind `knex`. */
export async function fillStateStore(knex: Knex, loaded: LoadedConfig, extra: Partial<ResolveStageDeps> = {}): Promise<void> {
  const registry = compileMappings(loaded.config.mappings);
  await new KnexCrosswalk(knex, SCHEMA).link('customer', 'crm', 'A1', 'erp:C1');
  const deps = {
    store: knex, schema: SCHEMA, registry, rules: compileRules(loaded.config.entities, loaded.version), dedup: null,
    originOf: () => null, writableFields: writableFieldsOf(registry), metrics: new PipelineMetrics(null), logger: silentLogger(),
    ...extra,
  };
  for (const batch of history()) await resolveBatch(batch, deps);
}

export function loadText(text: string, file = 'tandem.yaml'): LoadedConfig {
  return parseConfig(text, file, {});
}
