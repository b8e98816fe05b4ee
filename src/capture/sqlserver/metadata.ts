/**
 * Which capture instance serves each mapped table, its columns and key, and
 * the check that it covers every mapped column. The DESIGN trap: a column
 * added to a table after its capture instance was created is not in the
 * change table, so its changes would silently never arrive; SQL Server needs
 * a new capture instance for it (sys.sp_cdc_enable_table with a new
 * @capture_instance, then disabling the old one).
 */
import { CaptureError } from '../../errors';
import { lsnHex } from './lsn';
import type { CapturedColumn, QueryRunner, ResultSet } from './queries';
import { CAPTURE_INSTANCES_SQL, tableColumnsSql } from './queries';

export interface CaptureInstance {
  name: string;
  schema: string;
  table: string;
  /** `schema.table`. */
  qualified: string;
  columns: CapturedColumn[];
  keyColumns: string[];
  /** Low end of the instance's change table (cdc.change_tables.start_lsn). */
  startLsn: string;
}

export function splitQualified(table: string): [string, string] {
  const dot = table.indexOf('.');
  return dot < 0 ? ['dbo', table] : [table.slice(0, dot), table.slice(dot + 1)];
}

export function defaultInstanceName(table: string): string {
  const [schema, name] = splitQualified(table);
  return `${schema}_${name}`;
}

/** Rows of CAPTURE_INSTANCES_SQL → instances by name. */
export function instancesFromRows(result: ResultSet): Map<string, CaptureInstance> {
  const out = new Map<string, CaptureInstance>();
  const keyOrder = new Map<string, [number, string][]>();
  for (const row of result.rows) {
    const name = String(row['capture_instance']);
    let instance = out.get(name);
    if (!instance) {
      const schema = String(row['source_schema']);
      const table = String(row['source_table']);
      instance = { name, schema, table, qualified: `${schema}.${table}`, columns: [], keyColumns: [], startLsn: lsnHex(row['start_lsn'] as Buffer | null) };
      out.set(name, instance);
      keyOrder.set(name, []);
    }
    const column = String(row['column_name']);
    instance.columns.push({ name: column, type: String(row['column_type']).toLowerCase() });
    if (row['is_key'] === true) keyOrder.get(name)?.push([Number(row['index_ordinal'] ?? 0), column]);
  }
  for (const [name, keys] of keyOrder) out.get(name)!.keyColumns = keys.sort((a, b) => a[0] - b[0]).map(([, c]) => c);
  return out;
}

/**
 * The capture instance of each table. Missing instances and uncovered mapped
 * columns are CaptureErrors that say what to do.
 */
export async function resolveInstances(
  runner: QueryRunner, system: string, tables: string[], configured: Record<string, string>, mappedColumns: Record<string, string[]> | undefined,
): Promise<Map<string, CaptureInstance>> {
  const all = instancesFromRows(await runner.query(CAPTURE_INSTANCES_SQL.name, CAPTURE_INSTANCES_SQL.sql));
  const out = new Map<string, CaptureInstance>();
  for (const table of tables) {
    const name = configured[table] ?? defaultInstanceName(table);
    const instance = all.get(name);
    if (!instance) {
      const forTable = [...all.values()].filter((i) => i.qualified.toLowerCase() === table.toLowerCase()).map((i) => i.name);
      throw new CaptureError(
        `${system}: table ${table} has no CDC capture instance ${name}` +
          (forTable.length > 0 ? ` (its capture instances: ${forTable.join(', ')}; set captureInstances.${table})` : ` (enable it with sys.sp_cdc_enable_table @source_schema, @source_name, @capture_instance = N'${name}')`),
        { system, table },
        { retriable: false },
      );
    }
    if (instance.qualified.toLowerCase() !== table.toLowerCase()) {
      throw new CaptureError(`${system}: capture instance ${name} captures ${instance.qualified}, not ${table}`, { system, table }, { retriable: false });
    }
    const missing = uncoveredColumns(instance, mappedColumns?.[table] ?? []);
    if (missing.length > 0) throw await uncoveredError(runner, system, table, instance, missing);
    out.set(table, instance);
  }
  return out;
}

/** Mapped columns the capture instance does not capture (compared as SQL Server does, case-insensitively). */
export function uncoveredColumns(instance: CaptureInstance, mapped: string[]): string[] {
  const captured = new Set(instance.columns.map((c) => c.name.toLowerCase()));
  return [...new Set(mapped)].filter((c) => !captured.has(c.toLowerCase()));
}

async function uncoveredError(runner: QueryRunner, system: string, table: string, instance: CaptureInstance, missing: string[]): Promise<CaptureError> {
  const { name, sql } = tableColumnsSql();
  const present = new Set((await runner.query(name, sql, { table: { kind: 'text', value: table } })).rows.map((r) => String(r['column_name']).toLowerCase()));
  const inTable = missing.filter((c) => present.has(c.toLowerCase()));
  const notInTable = missing.filter((c) => !present.has(c.toLowerCase()));
  const parts: string[] = [];
  if (inTable.length > 0) {
    parts.push(
      `column${inTable.length > 1 ? 's' : ''} ${inTable.join(', ')} of ${table} ${inTable.length > 1 ? 'are' : 'is'} not in capture instance ${instance.name}` +
        ` (added after the instance was created?): SQL Server only captures the columns an instance was created with,` +
        ` so create a new capture instance for ${table} (sys.sp_cdc_enable_table with a new @capture_instance),` +
        ` point captureInstances.${table} at it, and disable the old one once tandem has read past it`,
    );
  }
  if (notInTable.length > 0) parts.push(`mapped column${notInTable.length > 1 ? 's' : ''} ${notInTable.join(', ')} ${notInTable.length > 1 ? 'do' : 'does'} not exist in ${table}`);
  return new CaptureError(`${system}: ${parts.join('; ')}`, { system, table }, { retriable: false });
}
