import { compileRules } from '../../conflict';
import { loadConfig, type TandemConfig } from '../../config';
import { ConfigError, UsageError } from '../../errors';
import { writableFieldsOf } from '../../pipeline/runtime';
import { readJournal } from '../../store';
import { compileMappings } from '../../transform';
import { parseTime, shortJson, shortTime } from '../conflicts/filters';
import { EXIT_OK } from '../exit';
import { formatTable, processIo, runReporting, type Io } from '../io';
import { withStateStore } from '../state-store-access';
import { simulate, type SimulationReport } from './replay';

export interface SimulateOptions {
  config: string;
  /** Proposed configuration; default: the current one (with `cutover` moved). */
  rules?: string;
  /** Planned cutover times, `name=<time>`: replace the `at` of those cutovers in the proposed rules. */
  cutover?: string[];
  since?: string;
  examples?: number;
  json?: boolean;
}

/**
 * `tandem rules simulate`: replays the change journal through the current and
 * the proposed rules and reports the decisions that differ. Reads the journal
 * only: no system and nothing else in the state store is touched.
 */
export async function runRulesSimulate(options: SimulateOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const sinceMs = options.since === undefined ? undefined : parseTime(options.since).getTime();
    const planned = (options.cutover ?? []).map(parsePlannedCutover);
    if (options.rules === undefined && planned.length === 0) throw new UsageError('give the proposed rules (--rules <file>) and/or planned cutover times (--cutover <name>=<time>)');
    const proposedFile = options.rules === undefined ? undefined : loadConfig(options.rules);
    const report = await withStateStore(options.config, async ({ knex, schema, loaded }) => {
      const proposed = withPlannedCutovers(proposedFile?.config ?? loaded.config, planned, options.rules ?? options.config);
      if (options.rules !== undefined) assertCompatible(loaded.config, proposed, options.rules);
      if (!loaded.config.journal.enabled) io.err('note: journal.enabled is false: changes resolved since it was turned off are not journalled and not simulated\n');
      const fieldsBySystem = writableFieldsOf(compileMappings(loaded.config.mappings));
      const report = await simulate(readJournal(knex, schema), compileRules(loaded.config.entities, loaded.version, loaded.config.cutovers),
        compileRules(proposed.entities, proposedFile?.version ?? loaded.version, proposed.cutovers), fieldsBySystem, { sinceMs, maxExamples: options.examples ?? 10 });
      return { ...report, cutovers: cutoverChanges(loaded.config.cutovers, proposed.cutovers) };
    });
    const label = [options.rules, ...planned.map((p) => `${p.name} at ${new Date(p.atMs).toISOString()}`)].filter(Boolean).join(' with ');
    io.out(options.json ? `${JSON.stringify(report, null, 2)}\n` : describeReport(report, label));
    return EXIT_OK;
  });
}

interface PlannedCutover {
  name: string;
  atMs: number;
}

/** `wave1=2026-12-01T00:00:00Z` (or a span back from now: `wave1=2h`). */
export function parsePlannedCutover(text: string): PlannedCutover {
  const at = text.indexOf('=');
  if (at <= 0) throw new UsageError(`--cutover takes <name>=<time>, e.g. wave1=2026-12-01T00:00:00Z; got "${text}"`);
  return { name: text.slice(0, at).trim(), atMs: parseTime(text.slice(at + 1).trim()).getTime() };
}

/** The proposed configuration with the planned cutovers moved; each must be one its rules use. */
export function withPlannedCutovers(config: TandemConfig, planned: readonly PlannedCutover[], file: string): TandemConfig {
  if (planned.length === 0) return config;
  const cutovers = { ...config.cutovers };
  for (const { name, atMs } of planned) {
    if (!cutovers[name]) throw new ConfigError(`--cutover ${name}: no such cutover (cutovers: ${Object.keys(cutovers).join(', ') || 'none'})`, { file, path: 'cutovers' });
    cutovers[name] = { at: new Date(atMs).toISOString() };
  }
  return { ...config, cutovers };
}

/** Cutovers added, removed or moved between two configurations: name → [current at, proposed at]. */
export function cutoverChanges(current: TandemConfig['cutovers'], proposed: TandemConfig['cutovers']): Record<string, [string | null, string | null]> {
  const out: Record<string, [string | null, string | null]> = {};
  const iso = (at: string | undefined) => (at === undefined ? null : new Date(Date.parse(at)).toISOString());
  for (const name of new Set([...Object.keys(current), ...Object.keys(proposed)])) {
    const [a, b] = [iso(current[name]?.at), iso(proposed[name]?.at)];
    if (a !== b) out[name] = [a, b];
  }
  return out;
}

/**
 * The journal holds changes mapped by the current mappings; the proposed file
 * may change ownership but must map the same fields from the same tables.
 */
function assertCompatible(current: TandemConfig, proposed: TandemConfig, file: string): void {
  const shape = (config: TandemConfig) => new Map(config.mappings.map((m) => [`${m.system} ${m.table} → ${m.entity}`, Object.keys(m.fields).sort().join(', ')]));
  const now = shape(current);
  const next = shape(proposed);
  for (const [mapping, fields] of now) {
    if (next.get(mapping) !== fields) {
      throw new ConfigError(`the proposed mappings differ from the current ones at ${mapping} (fields now: ${fields}; proposed: ${next.get(mapping) ?? 'not mapped'}); simulate compares rules over the same mappings`, { file, path: 'mappings' });
    }
  }
  for (const entity of Object.keys(current.entities)) {
    if (!proposed.entities[entity]) throw new ConfigError(`the proposed rules have no entity ${entity}`, { file, path: 'entities' });
  }
}

export function describeReport(report: SimulationReport & { cutovers?: Record<string, [string | null, string | null]> }, rulesFile: string): string {
  const span = report.firstCommitMs === null ? '' : ` (committed ${shortTime(new Date(report.firstCommitMs))} to ${shortTime(new Date(report.lastCommitMs!))} UTC)`;
  const lines = [`replayed ${report.changes} journalled change${report.changes === 1 ? '' : 's'}${span} through the current rules and ${rulesFile}\n`];
  for (const [name, [from, to]] of Object.entries(report.cutovers ?? {})) lines.push(`cutover ${name}: ${from ?? 'none'} → ${to ?? 'none'}\n`);
  if (report.differences === 0) return `${lines.join('')}no decision differs\n`;
  lines.push(`${report.differences} ${report.differences === 1 ? 'decision differs' : 'decisions differ'}:\n\n`);
  const rows = Object.entries(report.counts).map(([field, hows]) => {
    const total = Object.values(hows).reduce((a, b) => a + b, 0);
    return [field, String(total), Object.entries(hows).map(([how, n]) => `${how}: ${n}`).join(', ')];
  });
  lines.push(formatTable(['entity.field', 'differ', 'current → proposed'], rows));
  lines.push(`\nexamples (${report.examples.length} of ${report.differences}):\n`);
  for (const d of report.examples) {
    lines.push(`  ${d.entity} ${d.key} ${d.field}: ${d.system} at ${d.position} (${shortTime(new Date(d.commitTimeMs))}) attempted ${shortJson(d.attempted)}\n`);
    lines.push(`      current: ${d.current.outcome} (${d.currentRule}), kept ${shortJson(d.current.kept)}; proposed: ${d.proposed.outcome} (${d.proposedRule}), kept ${shortJson(d.proposed.kept)}\n`);
  }
  return lines.join('');
}
