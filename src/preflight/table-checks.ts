/**
 * The mapping checks: what the mappings need of each table, compared with
 * what the catalogs say the tables are. Pure, so every rule is unit-tested
 * without a database.
 */
import type { TandemConfig } from '../config';
import type { ColumnInfo, Dialect, TableInfo } from './catalog';
import { capacityProblem } from './capacity';
import { findingsFor, type PreflightFinding } from './finding';
import { generatorFills, isCaptured, mappedTables, reshapes, type MappedColumn, type MappedTable } from './mapped-columns';
import { untransportable } from './untransportable';

/** One system's tables as its catalog describes them (null: the table does not exist). */
export interface SystemCatalog {
  dialect: Dialect;
  tables: Map<string, TableInfo | null>;
}

export function mappingFindings(config: TandemConfig, catalogs: ReadonlyMap<string, SystemCatalog>): PreflightFinding[] {
  const findings: PreflightFinding[] = [];
  const tables = mappedTables(config);
  for (const table of tables) {
    const catalog = catalogs.get(table.system);
    if (!catalog || !catalog.tables.has(table.table)) continue; // not reached: the connection finding says why
    findings.push(...tableFindings(config, table, catalog.dialect, catalog.tables.get(table.table) ?? null));
  }
  findings.push(...capacityFindings(config, tables, catalogs));
  return findings;
}

function tableFindings(config: TandemConfig, table: MappedTable, dialect: Dialect, info: TableInfo | null): PreflightFinding[] {
  const at = `mappings[${table.index}]`;
  const finding = findingsFor(table.system, table.spec.table);
  if (!info) {
    return [finding('error', 'table', null, `table ${table.spec.table} does not exist in ${table.system} (or the configured user cannot see it)`,
      `create it, grant the user access, or correct ${at}.table`)];
  }
  const out: PreflightFinding[] = [];
  for (const column of table.columns) {
    const found = info.columns.get(column.column);
    if (!found) {
      out.push(finding('error', 'column', column.column, `column ${column.column} (field ${column.field}) does not exist`,
        `add the column, or correct ${at}.fields.${column.field}`));
      continue;
    }
    const refused = untransportable(dialect, found, config.systems[table.system]?.debezium !== undefined);
    if (refused && column.convert.length === 0) {
      out.push(finding('error', 'type', column.column, `${found.type} cannot be carried exactly: ${refused.reason}`,
        `map ${at}.fields.${column.field} with an explicit converter, or leave the column out`));
    }
  }
  out.push(...keyFindings(table, info, finding));
  out.push(...notNullFindings(table, info, finding));
  return out;
}

function keyFindings(table: MappedTable, info: TableInfo, finding: ReturnType<typeof findingsFor>): PreflightFinding[] {
  const at = `mappings[${table.index}].key`;
  const out: PreflightFinding[] = [];
  const missing = table.keyColumns.filter((c) => !info.columns.has(c));
  for (const column of missing) {
    if (table.columns.some((m) => m.column === column)) continue; // already reported as a mapped column
    out.push(finding('error', 'key', column, `key column ${column} does not exist`, `correct ${at}.columns`));
  }
  if (missing.length > 0) return out;
  const same = (cols: string[]) => cols.length === table.keyColumns.length && cols.every((c) => table.keyColumns.includes(c));
  if (!(info.primaryKey && same(info.primaryKey)) && !info.uniqueKeys.some(same)) {
    const pk = info.primaryKey ? ` (the primary key is ${info.primaryKey.join(', ')})` : ' (the table has no primary key)';
    out.push(finding('warning', 'key', table.keyColumns.join(', '),
      `key columns ${table.keyColumns.join(', ')} are neither the primary key nor a unique key${pk}: two rows could share a key and tandem would take them for one record`,
      `add a unique constraint on (${table.keyColumns.join(', ')}), or set ${at}.columns to the primary key`));
  }
  if (generatorFills(table.spec) === 'database') {
    for (const column of table.keyColumns) {
      const found = info.columns.get(column);
      if (found && !found.filledByDatabase) {
        out.push(finding('error', 'key', column, `key.generated is database but ${column} has no default, identity or sequence: rows tandem inserts would have no key`,
          `give ${column} a default (a sequence, an identity), or choose another ${at}.generated`));
      }
    }
  }
  return out;
}

/**
 * A NOT NULL column without a default that tandem does not write makes every
 * insert tandem makes into the table fail. Columns of the key are written
 * when a generator fills them.
 */
function notNullFindings(table: MappedTable, info: TableInfo, finding: ReturnType<typeof findingsFor>): PreflightFinding[] {
  const written = new Set(table.columns.filter((c) => !c.readOnly).map((c) => c.column));
  if (generatorFills(table.spec) !== 'none') for (const c of table.keyColumns) written.add(c);
  const out: PreflightFinding[] = [];
  for (const column of info.columns.values()) {
    if (column.nullable || column.filledByDatabase || written.has(column.name)) continue;
    const readOnly = table.columns.find((c) => c.column === column.name && c.readOnly);
    out.push(finding('error', 'not-null', column.name,
      `${column.name} ${column.type} is NOT NULL without a default and ${readOnly ? `is mapped read-only (field ${readOnly.field})` : 'no mapping fills it'}: every row tandem inserts would fail`,
      `map it to a field (mappings[${table.index}].fields), give it a default, or allow NULL`));
  }
  return out;
}

interface Side {
  table: MappedTable;
  column: MappedColumn;
  info: ColumnInfo;
}

/**
 * For every canonical field, each column tandem writes it to against each
 * column a captured system sends it from: values the target column cannot
 * hold are rejected there (or, worse, silently rounded or cut).
 */
function capacityFindings(config: TandemConfig, tables: MappedTable[], catalogs: ReadonlyMap<string, SystemCatalog>): PreflightFinding[] {
  const byField = new Map<string, Side[]>();
  for (const table of tables) {
    const info = catalogs.get(table.system)?.tables.get(table.table);
    if (!info) continue;
    for (const column of table.columns) {
      const found = info.columns.get(column.column);
      if (!found || column.ref !== null || reshapes(column.convert)) continue;
      const key = `${table.entity}.${column.field}`;
      byField.set(key, [...(byField.get(key) ?? []), { table, column, info: found }]);
    }
  }
  const out: PreflightFinding[] = [];
  for (const sides of byField.values()) {
    for (const to of sides) {
      if (to.column.readOnly) continue;
      for (const from of sides) {
        if (from.table.system === to.table.system || !isCaptured(config, from.table.system)) continue;
        const problem = capacityProblem(from.info, to.info);
        if (!problem) continue;
        const source = `${from.table.system}.${from.table.spec.table}.${from.column.column} ${from.info.type}`;
        const target = `${to.table.system}.${to.table.spec.table}.${to.column.column} ${to.info.type}`;
        out.push(findingsFor(to.table.system, to.table.spec.table)('warning', 'capacity', to.column.column, `${source} → ${target}: ${problem}`,
          `widen ${to.table.spec.table}.${to.column.column} to hold what ${from.table.system} sends, or restrict ${from.table.spec.table}.${from.column.column} to what ${to.table.system} holds`));
      }
    }
  }
  return out;
}
