/**
 * The preflight (`tandem check`, and the start of `tandem run`): the
 * configuration against the systems it names, before anything is captured.
 * Every system, service and table is looked at in parallel and read-only;
 * what it finds names system, table, column and what to do.
 */
import type { LoadedConfig } from '../config';
import { connectorOf } from '../connectors';
import { systemUrl } from '../pipeline';
import { report, type PreflightFinding, type PreflightReport } from './finding';
import { mappedTables } from './mapped-columns';
import { kafkaFindings, redisFindings, stateStoreFindings } from './services';
import { mappingFindings, type SystemCatalog } from './table-checks';

export type { PreflightFinding, PreflightReport, Severity, CheckKind } from './finding';
export { report as preflightReport, exitCodeOf } from './finding';
export type { ColumnInfo, TableInfo, Dialect, TypeFamily, CatalogColumnRow } from './catalog';
export { columnInfo } from './catalog';
export { capacityProblem } from './capacity';
export { mappingFindings, type SystemCatalog } from './table-checks';
export { reliesOnBeforeImages, mappedTables, type MappedTable } from './mapped-columns';
// What the connectors (src/connectors) run for their systems.
export { sqlSystemPreflight, type SqlSystemPreflight } from './sql-system';
export { postgresFindings } from './postgres';
export { mysqlFindings } from './mysql';
export { sqlServerFindings } from './sqlserver';
export { restFindings } from './services';
export { UNTRANSPORTABLE_TYPES, untransportable } from './untransportable';
export { formatPreflight } from './format';

export interface PreflightOptions {
  env?: NodeJS.ProcessEnv;
  /** Per connection and per query. */
  timeoutMs?: number;
}

export async function runPreflight(loaded: LoadedConfig, options: PreflightOptions = {}): Promise<PreflightReport> {
  const { config } = loaded;
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const tables = mappedTables(config);
  const catalogs = new Map<string, SystemCatalog>();
  const perSystem = Object.entries(config.systems).map(async ([system, spec]): Promise<PreflightFinding[]> => {
    const own = tables.filter((t) => t.system === system);
    const ctx = { config, system, spec, env, url: () => systemUrl(config, system, env), timeoutMs, tables: own };
    const { findings, catalog } = await connectorOf(spec).preflight(ctx);
    if (catalog) catalogs.set(system, catalog);
    return findings;
  });
  const results = await Promise.all([
    ...perSystem,
    stateStoreFindings(config, env, timeoutMs),
    redisFindings(config, env, timeoutMs),
    kafkaFindings(config, env, timeoutMs),
  ]);
  return report([...results.flat(), ...mappingFindings(config, catalogs)]);
}
