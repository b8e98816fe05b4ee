/**
 * `tandem compare`: reads each system's mapped table of an entity and the
 * state store, and reports every place a system does not hold what the
 * ownership rules say it should (classify.ts). Memory stays bounded: the
 * canonical records are read in key order a page at a time (keyset
 * pagination), the systems' rows of each page by key, and then each
 * system's table in key order to find rows no live record accounts for.
 * Two PostgreSQL systems keyed and mapped alike are first compared by
 * key-range hashes computed in the databases (pushdown.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { compileRules, type EntityRules } from '../conflict';
import { readSecret, type LoadedConfig, type MappingSpec } from '../config';
import { connectorOf } from '../connectors';
import { UsageError } from '../errors';
import { CrosswalkCache, KnexCrosswalk, liveRecordKeys, openTaskLetters } from '../store';
import { compileMappings, type MappingRegistry } from '../transform';
import { classify, comparedFields, type ClassifyContext, type Side } from './classify';
import { Observer, type SideReader, type VersionedObservation } from './observe';
import { pairByKey, pairDiffers } from './pair';
import { PgTableReader } from './pg-reader';
import { differingRows, pushdownPlan, type PushdownPlan } from './pushdown';
import { Repairer } from './repair';
import type { TableReader } from './reader';
import { isOutstanding, type CompareReport, type Difference, type EntityReport, type Explanation } from './types';

export interface CompareOptions {
  loaded: LoadedConfig;
  /** The state store (its schema is the configuration's). */
  store: Knex;
  env?: NodeJS.ProcessEnv;
  /** Entities to compare (default: every entity with a mapping in two or more of the compared systems). */
  entities?: readonly string[];
  /** Systems to compare (default: every PostgreSQL and MySQL/MariaDB system mapping the entity). */
  systems?: readonly string[];
  /** Differences listed per entity; the counts are always complete. Default 100. */
  limit?: number;
  /** Queue the rule-correct value for every wrong side (see repair.ts). */
  repair?: boolean;
  /** Compare range hashes in the databases first where the mappings allow it. Default true. */
  pushdown?: boolean;
  /** Records (or rows) per page. Default 1000. */
  pageSize?: number;
  now?: () => Date;
}

/** Compares every requested entity; `runId` names the run in the conflict log. */
export async function runCompare(options: CompareOptions): Promise<CompareReport> {
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const runId = `${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')}#${randomBytes(3).toString('hex')}`;
  const { config } = options.loaded;
  const registry = compileMappings(config.mappings);
  const rules = compileRules(config.entities, options.loaded.version, config.cutovers);
  const entities = chosenEntities(options, registry);
  const reports: EntityReport[] = [];
  let repaired: Repairer[] = [];
  for (const entity of entities) {
    const { report, repairer } = await compareEntity(entity, rules.entity(entity), registry, runId, options, now);
    reports.push(report);
    if (repairer) repaired = [...repaired, repairer];
  }
  const repairs = options.repair ? mergeSummaries(repaired) : null;
  const agreed = reports.every((r) => outstandingCount(r) === 0);
  return { runId, startedAt, durationMs: now().getTime() - startedAt.getTime(), entities: reports, agreed, repairs };
}

/** Differences that keep the systems apart (all but those a pending outbox task is about to fix). */
export function outstandingCount(report: EntityReport): number {
  return Object.values(report.byKind).reduce((a, b) => a + b, 0) - report.explainedInFlight;
}

function chosenEntities(options: CompareOptions, registry: MappingRegistry): string[] {
  const known = Object.keys(options.loaded.config.entities);
  for (const entity of options.entities ?? []) {
    if (!known.includes(entity)) throw new UsageError(`no entity ${entity} in the configuration (entities: ${known.join(', ')})`);
  }
  for (const system of options.systems ?? []) {
    if (!(system in options.loaded.config.systems)) throw new UsageError(`no system ${system} in the configuration (systems: ${Object.keys(options.loaded.config.systems).join(', ')})`);
  }
  const wanted = options.entities && options.entities.length > 0 ? [...options.entities] : known;
  return wanted.filter((entity) => comparableSystems(options, registry, entity).length > 0);
}

/** Systems whose table of `entity` compare can read. */
function comparableSystems(options: CompareOptions, registry: MappingRegistry, entity: string): string[] {
  const { systems } = options.loaded.config;
  return registry.forEntity(entity)
    .map((m) => m.system)
    .filter((s) => connectorOf(systems[s]!).compareReader !== undefined)
    .filter((s) => !options.systems || options.systems.length === 0 || options.systems.includes(s));
}

async function compareEntity(
  entity: string, rules: EntityRules, registry: MappingRegistry, runId: string, options: CompareOptions, now: () => Date,
): Promise<{ report: EntityReport; repairer: Repairer | null }> {
  const started = Date.now();
  const { config } = options.loaded;
  const schema = config.stateStore.schema;
  const sides = await openSides(entity, comparableSystems(options, registry, entity), registry, options);
  const report = emptyReport(entity, sides.map((s) => s.system));
  const repairer = options.repair ? new Repairer(options.store, schema, options.loaded.version, {
    runId, nowMs: now().getTime(), rules, fieldsBySystem: writableFields(registry, entity),
    tableOf: (system) => registry.forSystemEntity(system, entity)?.table ?? '', recordsTable: `${schema}.records`,
  }) : null;
  try {
    const letters = await taskLetters(options.store, schema, entity);
    const crosswalk = new KnexCrosswalk(options.store, schema, new CrosswalkCache(20_000));
    const observer = new Observer(entity, sides, options.store, schema, crosswalk, letters);
    const sink = new Sink(report, { rules, sides, atMs: now().getTime() }, options.limit ?? 100, repairer);
    const plan = options.pushdown === false ? 'turned off' : planFor(entity, sides, config.mappings);
    if (typeof plan === 'string') await streamEntity(entity, sides, observer, sink, options);
    else await pushdownEntity(plan, sides, observer, sink);
    report.method = typeof plan === 'string' ? 'stream' : 'pushdown';
  } finally {
    await Promise.all(sides.map((s) => s.reader.close()));
  }
  report.durationMs = Date.now() - started;
  return { report, repairer };
}

async function openSides(entity: string, systems: string[], registry: MappingRegistry, options: CompareOptions): Promise<SideReader[]> {
  const sides: SideReader[] = [];
  try {
    for (const system of systems) {
      const mapping = registry.forSystemEntity(system, entity)!;
      const url = readSecret(options.loaded.config.systems[system]!.url, `systems.${system}.url`, options.env ?? process.env);
      const reader: TableReader = await connectorOf(options.loaded.config.systems[system]!).compareReader!(system, mapping, url);
      const fields = new Map(mapping.fields.map((f) => [f.field, { readOnly: f.readOnly }]));
      sides.push({ system, fields, reader });
    }
  } catch (error) {
    await Promise.all(sides.map((s) => s.reader.close()));
    throw error;
  }
  return sides;
}

function planFor(entity: string, sides: readonly SideReader[], specs: readonly MappingSpec[]): PushdownPlan | string {
  if (sides.length !== 2) return 'push-down compares exactly two systems';
  const [a, b] = sides as [SideReader, SideReader];
  if (!(a.reader instanceof PgTableReader) || !(b.reader instanceof PgTableReader)) return 'push-down needs two PostgreSQL systems';
  const spec = (system: string) => specs.find((m) => m.system === system && m.entity === entity)!;
  return pushdownPlan(spec(a.system), spec(b.system), a.reader, b.reader);
}

/** Record pass (live records in key order, their rows by key), then each side's table in key order for rows no live record accounts for. */
async function streamEntity(entity: string, sides: readonly SideReader[], observer: Observer, sink: Sink, options: CompareOptions): Promise<void> {
  const pageSize = options.pageSize ?? 1000;
  const schema = options.loaded.config.stateStore.schema;
  for (let after: string | null = null; ;) {
    const page = await liveRecordKeys(options.store, schema, entity, after, pageSize);
    if (page.length === 0) break;
    sink.report.records += page.length;
    const observed = await observer.observeKeys(page);
    sink.report.rowsRead += observed.reduce((n, o) => n + [...o.rows.values()].filter(Boolean).length, 0);
    await sink.add(observed);
    if (page.length < pageSize) break;
    after = page[page.length - 1]!;
  }
  // Each side's table in key order, the next page read while this one is judged.
  await Promise.all(sides.map(async (side) => {
    let page = await side.reader.page(null, pageSize);
    for (;;) {
      const next = page.next ? side.reader.page(page.next, pageSize) : null;
      sink.report.rowsRead += page.rows.length;
      await sink.add(await observer.orphansOf(side, page.rows));
      if (!next) break;
      page = await next;
    }
  }));
}

/** Ranges whose hashes differ are read row by row, paired by key, and the pairs that differ are judged like any record. */
async function pushdownEntity(plan: PushdownPlan, sides: readonly SideReader[], observer: Observer, sink: Sink): Promise<void> {
  const [sideA, sideB] = sides as [SideReader, SideReader];
  const fields = comparedFields(sides);
  const progress = { rowsHashed: 0, rows: 0 };
  for await (const batch of differingRows(plan, progress)) {
    sink.report.rowsRead += batch.a.length + batch.b.length;
    const rowsA = new Map(batch.a.map((row) => [sideA.reader.mapping.localKeyOf(row), row]));
    const rowsB = new Map(batch.b.map((row) => [sideB.reader.mapping.localKeyOf(row), row]));
    const [observedA, observedB] = await Promise.all([observer.toObserved(sideA, [...rowsA]), observer.toObserved(sideB, [...rowsB])]);
    const differing = pairByKey(observedA, observedB).filter((p) => pairDiffers(p, fields));
    const keysA = differing.filter((p) => p.a).map((p) => p.localKey);
    const keysB = differing.filter((p) => p.b).map((p) => p.localKey);
    const [linksA, linksB] = await Promise.all([
      observer.canonicalKeys(sideA.system, keysA), observer.canonicalKeys(sideB.system, keysB),
    ]);
    const keys = [...new Set([...linksA.values(), ...linksB.values()])];
    if (keys.length > 0) await sink.add(await observer.observeKeys(keys));
    const unlinkedA = keysA.filter((k) => !linksA.has(k)).map((k) => rowsA.get(k)!);
    const unlinkedB = keysB.filter((k) => !linksB.has(k)).map((k) => rowsB.get(k)!);
    if (unlinkedA.length > 0) await sink.add(await observer.orphansOf(sideA, unlinkedA, true));
    if (unlinkedB.length > 0) await sink.add(await observer.orphansOf(sideB, unlinkedB, true));
  }
  sink.report.records = progress.rows;
  sink.report.rowsHashed = progress.rowsHashed;
}

/** Counts, keeps the first differences, and hands each page's outstanding differences to the repairer. */
class Sink {
  private readonly mismatchedByField = new Map<string, number>();

  constructor(
    readonly report: EntityReport,
    private readonly ctx: ClassifyContext,
    private readonly limit: number,
    private readonly repairer: Repairer | null,
  ) {}

  async add(observations: readonly VersionedObservation[]): Promise<void> {
    const toRepair: Array<{ obs: VersionedObservation; differences: Difference[] }> = [];
    for (const obs of observations) {
      const differences = classify(obs, this.ctx);
      if (differences.length === 0) continue;
      this.report.recordsMismatched += 1;
      for (const d of differences) this.count(d);
      toRepair.push({ obs, differences });
    }
    if (this.repairer && toRepair.length > 0) await this.repairer.repair(toRepair);
  }

  private count(d: Difference): void {
    const r = this.report;
    r.byKind[d.kind] += 1;
    if (d.field !== null) r.fieldsMismatched[d.field] = (r.fieldsMismatched[d.field] ?? 0) + 1;
    if (d.explained) r.explained += 1;
    if (d.explained && !isOutstanding(d)) r.explainedInFlight += 1;
    if (r.differences.length < this.limit) r.differences.push(d);
  }
}

function emptyReport(entity: string, systems: string[]): EntityReport {
  return {
    entity, systems, method: 'stream', records: 0, rowsRead: 0, rowsHashed: 0, recordsMismatched: 0, fieldsMismatched: {},
    byKind: { missing: 0, unlinked: 0, deleted: 0, field: 0 }, explained: 0, explainedInFlight: 0, differences: [], durationMs: 0,
  };
}

/** Canonical fields each system maps and tandem writes there. */
function writableFields(registry: MappingRegistry, entity: string): Map<string, Set<string>> {
  return new Map(registry.forEntity(entity).map((m) => [m.system, new Set(m.fields.filter((f) => !f.readOnly).map((f) => f.field))]));
}

async function taskLetters(store: Knex, schema: string, entity: string): Promise<Map<string, Explanation>> {
  const letters = await openTaskLetters(store, schema, entity);
  return new Map(letters.map((l) => [`${l.system}\u0000${l.key}`, { by: 'dead-letter' as const, id: l.id, status: 'open' }]));
}

function mergeSummaries(repairers: Repairer[]): CompareReport['repairs'] {
  const total = { tasks: 0, logged: 0, records: 0, skippedTotal: 0, skipped: [] as Array<{ entity: string; key: string; reason: string }> };
  for (const { summary } of repairers) {
    total.tasks += summary.tasks;
    total.logged += summary.logged;
    total.records += summary.records;
    total.skippedTotal += summary.skippedTotal;
    total.skipped.push(...summary.skipped.slice(0, Math.max(0, 100 - total.skipped.length)));
  }
  return total;
}
