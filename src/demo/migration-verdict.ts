import type { Knex } from 'knex';
import type { Value } from '../capture';
import { runCompare, isOutstanding, outstandingCount, describeDifference, type CompareReport } from '../compare';
import type { LoadedConfig } from '../config';
import { sameValue } from '../conflict';
import { listMerges } from '../store';
import { compareDecimal, compileMappings, type Mapping } from '../transform';
import type { MigrationWorkloadRecord } from './migration-workload';

/**
 * Did the three systems converge, per the rules in force? The old ERP and
 * the CRM are read by `tandem compare` (src/compare); the new ERP, which
 * compare cannot read, through its REST API, against the canonical records
 * and the crosswalk. Also: every merge left no trace of the loser and no
 * orphaned order anywhere, and the cutover judged the old ERP's wave-1 edits
 * by the rule in force at their commit time.
 */
export interface MigrationVerdict {
  ok: boolean;
  compare: { agreed: boolean; runId: string; outstanding: Record<string, number>; examples: string[] };
  rest: { records: number; resources: number; fieldsCompared: number; problems: number; examples: string[] };
  merges: { count: number; logged: number; problems: string[] };
  cutover: CutoverVerdict;
  conflictsByRule: Record<string, number>;
}

export interface CutoverVerdict {
  at: string;
  /** Old-ERP credit edits the workload committed well before / well after the cutover. */
  editsBefore: number;
  editsAfter: number;
  /** Old-ERP credit_limit changes rejected with a commit time well before / after the cutover. */
  rejectedBefore: number;
  rejectedAfter: number;
  ok: boolean;
}

export interface MigrationVerdictOptions {
  loaded: LoadedConfig;
  store: Knex;
  env: NodeJS.ProcessEnv;
  erpNewUrl: string;
  cutoverAt: Date;
  workload: MigrationWorkloadRecord;
}

const MAX_EXAMPLES = 15;
/** The binlog stamps whole seconds and the workload notes a commit after it returns: edits this close to the cutover are not judged. */
const CUTOVER_MARGIN_MS = 2_000;
const WAVE1_FIELD = 'credit_limit';

export async function checkMigration(options: MigrationVerdictOptions): Promise<MigrationVerdict> {
  const schema = options.loaded.config.stateStore.schema;
  const report = await runCompare({ loaded: options.loaded, store: options.store, env: options.env, systems: ['erp_old', 'crm'] });
  const compare = compareVerdict(report);
  const rest = await checkRest(options, schema);
  const merges = await checkMerges(options, schema);
  const cutover = await checkCutover(options, schema);
  const conflictsByRule = Object.fromEntries((await options.store.withSchema(schema).table('conflicts').select('rule').count('* as n').groupBy('rule'))
    .map((r) => [String(r.rule), Number(r.n)]));
  const ok = compare.agreed && rest.problems === 0 && merges.problems.length === 0 && cutover.ok;
  return { ok, compare, rest, merges, cutover, conflictsByRule };
}

function compareVerdict(report: CompareReport): MigrationVerdict['compare'] {
  const outstanding = Object.fromEntries(report.entities.map((e) => [e.entity, outstandingCount(e)]));
  const examples = report.entities.flatMap((e) => e.differences.filter(isOutstanding)).slice(0, MAX_EXAMPLES).map(describeDifference);
  return { agreed: report.agreed, runId: report.runId, outstanding, examples };
}

interface Resource {
  id: string;
  [property: string]: unknown;
}

/** The API's collection of an entity: its create path (`/customers`), which lists with GET. */
function collectionOf(loaded: LoadedConfig, entity: string): string {
  const path = loaded.config.systems.erp_new?.rest?.endpoints[entity]?.create.path;
  if (!path) throw new Error(`erp_new has no endpoint for ${entity}`);
  return path.replace(/^\//, '');
}

async function listResources(baseUrl: string, collection: string): Promise<Map<string, Resource>> {
  const response = await fetch(`${baseUrl}/${collection}`);
  if (!response.ok) throw new Error(`GET /${collection} of the new ERP answered ${response.status}`);
  const body = (await response.json()) as { items?: Resource[] };
  return new Map((body.items ?? []).map((r) => [String(r.id), r]));
}

/** Live canonical records and the new ERP's links, checked field by field against what its API returns. */
async function checkRest(options: MigrationVerdictOptions, schema: string): Promise<MigrationVerdict['rest']> {
  const registry = compileMappings(options.loaded.config.mappings);
  const problems: string[] = [];
  let records = 0;
  let resources = 0;
  let fieldsCompared = 0;
  const links = async (entity: string) => {
    const rows: Array<{ local_key: string; canonical_key: string }> = await options.store.withSchema(schema).table('crosswalk').select('local_key', 'canonical_key').where({ entity, system: 'erp_new' });
    return { toLocal: new Map(rows.map((r) => [r.canonical_key, r.local_key])), toCanonical: new Map(rows.map((r) => [r.local_key, r.canonical_key])) };
  };
  const customerLinks = await links('customer');
  for (const mapping of registry.all().filter((m) => m.system === 'erp_new')) {
    const listed = await listResources(options.erpNewUrl, collectionOf(options.loaded, mapping.entity));
    resources += listed.size;
    const own = mapping.entity === 'customer' ? customerLinks : await links(mapping.entity);
    const live: Array<{ key: string; fields: Record<string, Value> }> = await options.store.withSchema(schema).table('records').select('key', 'fields')
      .where({ entity: mapping.entity, deleted: false }).where('version', '>', 0);
    records += live.length;
    const liveKeys = new Set(live.map((r) => r.key));
    for (const record of live) {
      const id = own.toLocal.get(record.key);
      const resource = id === undefined ? undefined : listed.get(id);
      if (!resource) {
        problems.push(`${mapping.entity} ${record.key}: missing in erp_new${id === undefined ? ' (never linked)' : ` (id ${id})`}`);
        continue;
      }
      for (const binding of mapping.fields) {
        fieldsCompared++;
        const canonical = record.fields[binding.field];
        const wanted = binding.ref ? (typeof canonical === 'string' ? customerLinks.toLocal.get(canonical) ?? `(unlinked ${canonical})` : canonical) : canonical;
        const held = resource[binding.column] as Value | undefined;
        if (!sameHeld(held, wanted ?? null)) problems.push(`${mapping.entity} ${record.key} (${resource.id}).${binding.field}: erp_new ${JSON.stringify(held)}, canonical ${JSON.stringify(wanted)}`);
      }
    }
    for (const id of listed.keys()) {
      const key = own.toCanonical.get(id);
      if (key === undefined || !liveKeys.has(key)) problems.push(`${mapping.entity} ${id} in erp_new: no live record (${key === undefined ? 'never linked' : `record ${key} is deleted`})`);
    }
    if (mapping.entity === 'customer') {
      for (const [id, level] of Object.entries(options.workload.dunning)) {
        const resource = listed.get(id);
        if (resource && resource.dunning_level !== level) problems.push(`customer ${id} in erp_new: dunning_level ${JSON.stringify(resource.dunning_level)}, its users set ${level} (tandem must leave it alone)`);
      }
    }
  }
  return { records, resources, fieldsCompared, problems: problems.length, examples: problems.slice(0, MAX_EXAMPLES) };
}

function sameHeld(held: Value | undefined, wanted: Value): boolean {
  if (held === undefined) return wanted === null;
  if (sameValue(held, wanted)) return true;
  const decimal = /^-?\d+(\.\d+)?$/;
  return typeof held === 'string' && typeof wanted === 'string' && decimal.test(held) && decimal.test(wanted) && compareDecimal(held, wanted) === 0;
}

/** Every merged-away customer is gone from all three systems, and no order anywhere still points at it. */
async function checkMerges(options: MigrationVerdictOptions, schema: string): Promise<MigrationVerdict['merges']> {
  const merges = await listMerges(options.store, schema, 'customer');
  const problems: string[] = [];
  const localOf = async (system: string, key: string) =>
    ((await options.store.withSchema(schema).table('crosswalk').where({ entity: 'customer', system, canonical_key: key }).first()) as { local_key: string } | undefined)?.local_key;
  const orders = await listResources(options.erpNewUrl, collectionOf(options.loaded, 'sales_order'));
  const customers = await listResources(options.erpNewUrl, collectionOf(options.loaded, 'customer'));
  for (const merge of merges) {
    const record = await options.store.withSchema(schema).table('records').where({ entity: 'customer', key: merge.loser }).first();
    if (record && !record.deleted) problems.push(`merged customer ${merge.loser} is still a live record`);
    const restId = await localOf('erp_new', merge.loser);
    if (restId !== undefined) {
      if (customers.has(restId)) problems.push(`merged customer ${merge.loser} is still in erp_new (${restId})`);
      const orphans = [...orders.values()].filter((o) => o.customer_id === restId).length;
      if (orphans > 0) problems.push(`${orphans} erp_new order(s) still point at merged customer ${restId}`);
    }
  }
  for (const order of orders.values()) {
    if (!customers.has(String(order.customer_id))) problems.push(`erp_new order ${order.id} points at customer ${String(order.customer_id)}, which erp_new does not have`);
  }
  const logged = Number((await options.store.withSchema(schema).table('conflicts').where({ decision: 'merged', entity: 'customer' }).count('* as n'))[0]?.n ?? 0);
  if (logged !== merges.length) problems.push(`${merges.length} merge(s) stored but ${logged} logged as merge decisions`);
  if (merges.length < options.workload.merges.length) problems.push(`the old ERP merged ${options.workload.merges.length} customer(s), tandem recorded ${merges.length}`);
  // The CRM and the old ERP are covered by compare (a deleted record's row still present is a difference) and their foreign keys.
  return { count: merges.length, logged, problems };
}

/** Old-ERP credit changes: accepted before the cutover (no conflict), rejected after it. */
async function checkCutover(options: MigrationVerdictOptions, schema: string): Promise<CutoverVerdict> {
  const at = options.cutoverAt.getTime();
  const editsBefore = options.workload.wave1Edits.filter((t) => t <= at - CUTOVER_MARGIN_MS).length;
  const editsAfter = options.workload.wave1Edits.filter((t) => t >= at + CUTOVER_MARGIN_MS).length;
  const rejected = (from: Date | null, to: Date | null) => {
    const query = options.store.withSchema(schema).table('conflicts').where({ system: 'erp_old', field: WAVE1_FIELD, decision: 'rejected' });
    if (from) query.where('commit_time', '>=', from);
    if (to) query.where('commit_time', '<', to);
    return query.count('* as n').then((rows) => Number(rows[0]?.n ?? 0));
  };
  const rejectedBefore = await rejected(null, new Date(at - CUTOVER_MARGIN_MS / 2));
  const rejectedAfter = await rejected(new Date(at + CUTOVER_MARGIN_MS / 2), null);
  // Every change made well after the cutover is a rejected change (an edit to a customer merged away in between changes nothing).
  const ok = rejectedBefore === 0 && rejectedAfter >= editsAfter - options.workload.merges.length && (editsAfter === 0 || rejectedAfter > 0);
  return { at: options.cutoverAt.toISOString(), editsBefore, editsAfter, rejectedBefore, rejectedAfter, ok };
}

export function formatMigrationVerdict(v: MigrationVerdict): string {
  const lines = [v.ok ? 'CONVERGED: the old ERP, the new ERP and the CRM agree under the rules in force' : 'NOT CONVERGED'];
  lines.push(`  compare (erp_old ⇄ crm, run ${v.compare.runId}): ${v.compare.agreed ? 'agreed' : 'differences'} ${JSON.stringify(v.compare.outstanding)}`);
  for (const e of v.compare.examples) lines.push(`    ${e}`);
  lines.push(`  erp_new through its API: ${v.rest.records} live records, ${v.rest.resources} resources, ${v.rest.fieldsCompared} fields compared, ${v.rest.problems} problem(s)`);
  for (const e of v.rest.examples) lines.push(`    ${e}`);
  lines.push(`  merges: ${v.merges.count} (logged ${v.merges.logged})${v.merges.problems.length ? '' : ', no orphaned orders'}`);
  for (const p of v.merges.problems.slice(0, MAX_EXAMPLES)) lines.push(`    ${p}`);
  const c = v.cutover;
  lines.push(`  cutover wave1 at ${c.at}: old-ERP credit edits ${c.editsBefore} before (rejected ${c.rejectedBefore}), ${c.editsAfter} after (rejected ${c.rejectedAfter}) — ${c.ok ? 'ok' : 'WRONG'}`);
  const rules = Object.entries(v.conflictsByRule).sort(([, a], [, b]) => b - a).slice(0, 10);
  const short = (rule: string) => (rule.length > 110 ? `${rule.slice(0, 109)}…` : rule);
  if (rules.length > 0) lines.push('  conflicts by rule:', ...rules.map(([rule, n]) => `    ${n}  ${short(rule)}`));
  return lines.join('\n');
}
