/** SQL Server checks for native capture: CDC enabled on the database and tracking every mapped table. */
import type { TandemConfig } from '../config';
import type { CatalogDb } from './catalog-db';
import { findingsFor, type PreflightFinding } from './finding';
import type { MappedTable } from './mapped-columns';

export async function sqlServerFindings(db: CatalogDb, config: TandemConfig, system: string, tables: MappedTable[]): Promise<PreflightFinding[]> {
  if (!config.systems[system]!.capture) return [];
  const [database] = await db.query<{ name: string; enabled: boolean | number }>('SELECT name, is_cdc_enabled AS enabled FROM sys.databases WHERE name = DB_NAME()');
  if (database && !Number(database.enabled)) {
    return [findingsFor(system)('error', 'cdc', null, `CDC is not enabled on database ${database.name}`, 'EXEC sys.sp_cdc_enable_db (as sysadmin), then sys.sp_cdc_enable_table for each mapped table')];
  }
  const out: PreflightFinding[] = [];
  for (const table of tables) {
    const [row] = await db.query<{ tracked: boolean | number }>(
      'SELECT t.is_tracked_by_cdc AS tracked FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id WHERE s.name = ? AND t.name = ?',
      [table.schema, table.name]);
    if (row && !Number(row.tracked)) {
      out.push(findingsFor(system, table.spec.table)('error', 'cdc', null, `${table.table} is not tracked by CDC`,
        `EXEC sys.sp_cdc_enable_table @source_schema = N'${table.schema}', @source_name = N'${table.name}', @role_name = NULL`));
    }
  }
  return out;
}
