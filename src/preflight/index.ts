/**
 * The preflight (`tandem check`, and the start of `tandem run`): the
 * configuration against the systems it names, before anything is captured.
 * Every system, service and table is looked at in parallel and read-only;
 * what it finds names system, table, column and what to do.
 */
import { secretOrigin, type LoadedConfig, type TandemConfig } from '../config';
import { errorMessage } from '../errors';
import { systemUrl } from '../pipeline';
import type { TableInfo } from './catalog';
import { openCatalogDb, readTable, type CatalogDb } from './catalog-db';
import { findingsFor, report, type PreflightFinding, type PreflightReport } from './finding';
import { mappedTables, type MappedTable } from './mapped-columns';
import { mysqlFindings } from './mysql';
import { postgresFindings } from './postgres';
import { kafkaFindings, redisFindings, restFindings, stateStoreFindings } from './services';
import { sqlServerFindings } from './sqlserver';
import { mappingFindings, type SystemCatalog } from './table-checks';

export type { PreflightFinding, PreflightReport, Severity, CheckKind } from './finding';
export { report as preflightReport, exitCodeOf } from './finding';
export type { ColumnInfo, TableInfo, Dialect, TypeFamily, CatalogColumnRow } from './catalog';
export { columnInfo } from './catalog';
export { capacityProblem } from './capacity';
export { mappingFindings, type SystemCatalog } from './table-checks';
export { reliesOnBeforeImages, mappedTables } from './mapped-columns';
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
    if (spec.type === 'rest') return restFindings(config, system, env, timeoutMs);
    const own = tables.filter((t) => t.system === system);
    let db: CatalogDb;
    try {
      db = await openCatalogDb(spec.type, systemUrl(config, system, env), timeoutMs);
    } catch (error) {
      return [findingsFor(system)('error', 'connect', null, `${system} cannot be reached: ${errorMessage(error)}`, `check systems.${system}.url (from ${secretOrigin(spec.url)}) and that the server accepts connections from here`)];
    }
    try {
      catalogs.set(system, { dialect: spec.type, tables: await readTables(db, own) });
      return await serverFindings(db, config, system, own);
    } catch (error) {
      return [findingsFor(system)('error', 'connect', null, `checking ${system} failed: ${errorMessage(error)}`, 'see the message; the configured user may lack access to the catalog')];
    } finally {
      await db.close().catch(() => undefined);
    }
  });
  const results = await Promise.all([
    ...perSystem,
    stateStoreFindings(config, env, timeoutMs),
    redisFindings(config, env, timeoutMs),
    kafkaFindings(config, env, timeoutMs),
  ]);
  return report([...results.flat(), ...mappingFindings(config, catalogs)]);
}

async function readTables(db: CatalogDb, tables: MappedTable[]): Promise<Map<string, TableInfo | null>> {
  const out = new Map<string, TableInfo | null>();
  for (const table of tables) out.set(table.table, await readTable(db, table.schema, table.name));
  return out;
}

function serverFindings(db: CatalogDb, config: TandemConfig, system: string, tables: MappedTable[]): Promise<PreflightFinding[]> {
  switch (db.dialect) {
    case 'postgres': return postgresFindings(db, config, system, tables);
    case 'mysql': return mysqlFindings(db, config, system);
    case 'sqlserver': return sqlServerFindings(db, config, system, tables);
  }
}
