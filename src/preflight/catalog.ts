/**
 * What the preflight knows about a table, read from `information_schema`
 * (the same queries on PostgreSQL, MySQL/MariaDB and SQL Server), with each
 * column's type reduced to what matters for carrying values: its family and
 * its limits.
 */

export type Dialect = 'postgres' | 'mysql' | 'sqlserver';

export type TypeFamily =
  | 'text' | 'integer' | 'decimal' | 'float' | 'boolean' | 'date' | 'timestamp' | 'time' | 'json' | 'uuid' | 'binary' | 'other';

export interface ColumnInfo {
  name: string;
  dialect: Dialect;
  /** The type as the database describes it, e.g. `varchar(24)`, `numeric(12,2)`, `int unsigned`. */
  type: string;
  /** `data_type` as information_schema gives it, lower-case (`character varying`, `varchar`, `nvarchar`). */
  dataType: string;
  family: TypeFamily;
  /** Text: the longest value in characters; null when unbounded. */
  length: number | null;
  /** Decimals: total digits and digits after the point; null when unconstrained. */
  precision: number | null;
  scale: number | null;
  /** Integers: the range the column holds. */
  range: { min: bigint; max: bigint } | null;
  /** Times and timestamps: digits of fractional seconds kept. */
  fractionDigits: number | null;
  nullable: boolean;
  /** A default, an identity / auto-increment, or a generated (computed) value fills it when an insert leaves it out. */
  filledByDatabase: boolean;
}

export interface TableInfo {
  /** Columns by name. */
  columns: Map<string, ColumnInfo>;
  primaryKey: string[] | null;
  uniqueKeys: string[][];
}

/** One row of the shared information_schema.columns query (see `introspect.ts`). */
export interface CatalogColumnRow {
  name: string;
  data_type: string;
  column_type: string | null;
  char_length: number | string | null;
  num_precision: number | string | null;
  num_scale: number | string | null;
  dt_precision: number | string | null;
  is_nullable: string;
  column_default: string | null;
  /** PostgreSQL identity / generated, MySQL `extra` (auto_increment, VIRTUAL GENERATED), SQL Server identity/computed flags. */
  auto: string | null;
}

const num = (v: number | string | null): number | null => (v === null || v === undefined || v === '' ? null : Number(v));

const INT_BYTES: Record<string, number> = {
  smallint: 2, integer: 4, int: 4, bigint: 8, tinyint: 1, mediumint: 3, int2: 2, int4: 4, int8: 8,
};

function intRange(bytes: number, unsigned: boolean): { min: bigint; max: bigint } {
  const bits = BigInt(bytes * 8);
  return unsigned ? { min: 0n, max: (1n << bits) - 1n } : { min: -(1n << (bits - 1n)), max: (1n << (bits - 1n)) - 1n };
}

/** Reduces a catalog row to a ColumnInfo. */
export function columnInfo(dialect: Dialect, row: CatalogColumnRow): ColumnInfo {
  const dataType = row.data_type.toLowerCase();
  const columnType = (row.column_type ?? '').toLowerCase();
  const length = num(row.char_length);
  const base = {
    name: row.name,
    dialect,
    dataType,
    length: null as number | null,
    precision: null as number | null,
    scale: null as number | null,
    range: null as ColumnInfo['range'],
    fractionDigits: null as number | null,
    nullable: row.is_nullable.toUpperCase() === 'YES',
    filledByDatabase: hasDatabaseValue(dialect, row),
  };
  const family = familyOf(dialect, dataType, columnType);
  const info: ColumnInfo = { ...base, family, type: describeType(dialect, row, dataType, columnType) };
  switch (family) {
    case 'text':
      // SQL Server reports (max) as -1.
      info.length = length === null || length < 0 ? null : length;
      break;
    case 'decimal':
      info.precision = num(row.num_precision);
      info.scale = info.precision === null ? null : (num(row.num_scale) ?? 0);
      break;
    case 'integer': {
      // SQL Server's tinyint is 0..255; MySQL's may be unsigned.
      const unsigned = columnType.includes('unsigned') || (dialect === 'sqlserver' && dataType === 'tinyint');
      info.range = intRange(INT_BYTES[dataType] ?? 8, unsigned);
      break;
    }
    case 'timestamp':
    case 'time':
      info.fractionDigits = num(row.dt_precision) ?? (dialect === 'mysql' ? 0 : 6);
      break;
  }
  return info;
}

function hasDatabaseValue(dialect: Dialect, row: CatalogColumnRow): boolean {
  const auto = (row.auto ?? '').toLowerCase();
  if (auto !== '' && auto !== 'no' && auto !== 'never' && auto !== '0') {
    if (dialect !== 'mysql' || /auto_increment|generated|virtual|stored/.test(auto)) return true;
  }
  const fallback = row.column_default;
  // MariaDB reports an explicit `DEFAULT NULL` as the text NULL.
  return fallback !== null && fallback !== undefined && !(dialect === 'mysql' && fallback.toUpperCase() === 'NULL');
}

const TEXT_TYPES = new Set([
  'character varying', 'character', 'text', 'varchar', 'char', 'nvarchar', 'nchar', 'ntext', 'tinytext', 'mediumtext', 'longtext', 'citext', 'bpchar',
]);
const FLOAT_TYPES = new Set(['real', 'double precision', 'float', 'double']);
const DECIMAL_TYPES = new Set(['numeric', 'decimal', 'money', 'smallmoney']);
const TIMESTAMP_TYPES = new Set([
  'timestamp without time zone', 'timestamp with time zone', 'timestamp', 'datetime', 'datetime2', 'smalldatetime', 'datetimeoffset',
]);

function familyOf(dialect: Dialect, dataType: string, columnType: string): TypeFamily {
  if (dialect === 'mysql' && dataType === 'tinyint' && /^tinyint\(1\)/.test(columnType)) return 'boolean';
  if (dataType === 'bit' && dialect === 'sqlserver') return 'boolean';
  if (dataType === 'boolean') return 'boolean';
  if (TEXT_TYPES.has(dataType)) return 'text';
  if (dataType in INT_BYTES) return 'integer';
  if (DECIMAL_TYPES.has(dataType)) return 'decimal';
  if (FLOAT_TYPES.has(dataType)) return 'float';
  if (dataType === 'date') return 'date';
  if (TIMESTAMP_TYPES.has(dataType)) return 'timestamp';
  if (dataType.startsWith('time')) return 'time';
  if (dataType === 'json' || dataType === 'jsonb') return 'json';
  if (dataType === 'uuid' || dataType === 'uniqueidentifier') return 'uuid';
  if (['bytea', 'blob', 'tinyblob', 'mediumblob', 'longblob', 'binary', 'varbinary', 'image'].includes(dataType)) return 'binary';
  return 'other';
}

/** `varchar(24)`, `numeric(12,2)`: MySQL says it itself (COLUMN_TYPE); the others are built from the limits. */
function describeType(dialect: Dialect, row: CatalogColumnRow, dataType: string, columnType: string): string {
  if (dialect === 'mysql' && columnType) return columnType;
  if (dialect === 'postgres' && columnType) return columnType;
  const length = num(row.char_length);
  if (TEXT_TYPES.has(dataType) && length !== null) return `${dataType}(${length < 0 ? 'max' : length})`;
  const precision = num(row.num_precision);
  if (DECIMAL_TYPES.has(dataType) && precision !== null) return `${dataType}(${precision},${num(row.num_scale) ?? 0})`;
  return dataType;
}
