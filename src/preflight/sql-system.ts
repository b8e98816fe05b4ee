/**
 * The preflight of a SQL system: connect, read the mapped tables from the
 * catalog (for the mapping checks) and run the server's own checks. Its
 * connector (src/connectors) names the dialect and the server checks.
 */
import { errorMessage } from '../errors';
import type { Dialect, TableInfo } from './catalog';
import { openCatalogDb, readTable, type CatalogDb } from './catalog-db';
import { findingsFor, type PreflightFinding } from './finding';
import type { MappedTable } from './mapped-columns';
import type { SystemCatalog } from './table-checks';

export interface SqlSystemPreflight {
  findings: PreflightFinding[];
  catalog?: SystemCatalog;
}

export async function sqlSystemPreflight(
  system: string, dialect: Dialect, url: () => string, timeoutMs: number, tables: MappedTable[],
  serverFindings: (db: CatalogDb) => Promise<PreflightFinding[]>,
): Promise<SqlSystemPreflight> {
  let db: CatalogDb;
  try {
    db = await openCatalogDb(dialect, url(), timeoutMs);
  } catch (error) {
    return { findings: [findingsFor(system)('error', 'connect', null, `${system} cannot be reached: ${errorMessage(error)}`, `check systems.${system}.url and that the server accepts connections from here`)] };
  }
  let catalog: SystemCatalog | undefined;
  try {
    catalog = { dialect, tables: await readTables(db, tables) };
    return { findings: await serverFindings(db), catalog };
  } catch (error) {
    return { catalog, findings: [findingsFor(system)('error', 'connect', null, `checking ${system} failed: ${errorMessage(error)}`, 'see the message; the configured user may lack access to the catalog')] };
  } finally {
    await db.close().catch(() => undefined);
  }
}

async function readTables(db: CatalogDb, tables: MappedTable[]): Promise<Map<string, TableInfo | null>> {
  const out = new Map<string, TableInfo | null>();
  for (const table of tables) out.set(table.table, await readTable(db, table.schema, table.name));
  return out;
}
