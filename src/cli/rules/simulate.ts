import { compileRules } from '../../conflict';
import { loadConfig, type TandemConfig } from '../../config';
import { ConfigError } from '../../errors';
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
  rules: string;
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
    const proposed = loadConfig(options.rules);
    const report = await withStateStore(options.config, async ({ knex, schema, loaded }) => {
      assertCompatible(loaded.config, proposed.config, options.rules);
      if (!loaded.config.journal.enabled) io.err('note: journal.enabled is false: changes resolved since it was turned off are not journalled and not simulated\n');
      const fieldsBySystem = writableFieldsOf(compileMappings(loaded.config.mappings));
      return simulate(readJournal(knex, schema), compileRules(loaded.config.entities, loaded.version),
        compileRules(proposed.config.entities, proposed.version), fieldsBySystem, { sinceMs, maxExamples: options.examples ?? 10 });
    });
    io.out(options.json ? `${JSON.stringify(report, null, 2)}\n` : describeReport(report, options.rules));
    return EXIT_OK;
  });
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

export function describeReport(report: SimulationReport, rulesFile: string): string {
  const span = report.firstCommitMs === null ? '' : ` (committed ${shortTime(new Date(report.firstCommitMs))} to ${shortTime(new Date(report.lastCommitMs!))} UTC)`;
  const lines = [`replayed ${report.changes} journalled change${report.changes === 1 ? '' : 's'}${span} through the current rules and ${rulesFile}\n`];
  if (report.differences === 0) return `${lines[0]}no decision differs\n`;
  lines.push(`${report.differences} decision${report.differences === 1 ? '' : 's'} differ:\n\n`);
  const rows = Object.entries(report.counts).map(([field, hows]) => {
    const total = Object.values(hows).reduce((a, b) => a + b, 0);
    return [field, String(total), Object.entries(hows).map(([how, n]) => `${how}: ${n}`).join(', ')];
  });
  lines.push(formatTable(['entity.field', 'differ', 'current → proposed'], rows));
  lines.push(`\nexamples (${report.examples.length} of ${report.differences}):\n`);
  for (const d of report.examples) {
    lines.push(`  ${d.entity} ${d.key} ${d.field}: ${d.system} at ${d.position} (${shortTime(new Date(d.commitTimeMs))}) attempted ${shortJson(d.attempted)}\n`);
    lines.push(`      current: ${d.current.outcome}, kept ${shortJson(d.current.kept)}; proposed: ${d.proposed.outcome}, kept ${shortJson(d.proposed.kept)}\n`);
  }
  return lines.join('');
}
