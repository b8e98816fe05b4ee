/**
 * Canonical values → what a target column of a given type must be sent.
 * Canonical values (see the README's "Types and exact values") say what a
 * value is, not how a column stores it: bytes travel as base64, bit strings
 * as '0'/'1' text, JSON as a value (or its text when a number in it is
 * beyond a double). Which conversion applies depends on the column, so the
 * target's catalog is read once per mapped table (information_schema) and
 * kept. A value the column cannot hold (PostgreSQL's infinity in a MariaDB
 * DATETIME, NaN in a DOUBLE, more decimals than the column's scale) is
 * refused with a `ValueNotHeld` error (the task is dead-lettered), never
 * written altered.
 */
import type { Knex } from 'knex';
import type { Row, Value } from '../capture';
import type { Mapping } from '../transform';
import type { SqlType } from './sql-dialect';
import { decimalKey } from './sql-values';

/** A target column as the catalog describes it. */
export interface TargetColumn {
  /** information_schema DATA_TYPE, lower case ('bytea', 'bit varying', 'longblob', 'ARRAY' → 'array'). */
  dataType: string;
  /** PostgreSQL: udt_name (element type of an array is `_<name>`). */
  udt: string;
  /** DECIMAL precision and scale, BIT width (MariaDB NUMERIC_PRECISION, PostgreSQL character_maximum_length). */
  precision: number | null;
  scale: number | null;
}

export type TargetColumns = ReadonlyMap<string, TargetColumn>;

/** The column cannot hold the value: not retriable, the task goes to the dead letters. */
export class ValueNotHeld extends Error {
  override readonly name = 'ValueNotHeld';
}

const memo = new WeakMap<Mapping, Promise<TargetColumns>>();

/** The mapped table's columns, read once per mapping (a mapping belongs to one target). */
export function targetColumns(db: Knex | Knex.Transaction, type: SqlType, mapping: Mapping): Promise<TargetColumns> {
  let found = memo.get(mapping);
  if (!found) {
    found = readColumns(db, type, mapping);
    found.catch(() => memo.delete(mapping));
    memo.set(mapping, found);
  }
  return found;
}

async function readColumns(db: Knex | Knex.Transaction, type: SqlType, mapping: Mapping): Promise<TargetColumns> {
  if (type === 'sqlserver') return new Map(); // SQL Server conversions are in sql-dialect (instants)
  const rows = type === 'postgres'
    ? await db.raw(
      `SELECT column_name AS name, data_type AS type, udt_name AS udt, COALESCE(numeric_precision, character_maximum_length) AS precision,
         numeric_scale AS scale FROM information_schema.columns WHERE table_schema = COALESCE(?, current_schema()) AND table_name = ?`,
      [mapping.schema ?? null, mapping.tableName]).then((r: { rows: unknown[] }) => r.rows)
    : await db.raw(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS type, COLUMN_TYPE AS udt, NUMERIC_PRECISION AS \`precision\`, NUMERIC_SCALE AS scale
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?`,
      [mapping.schema ?? null, mapping.tableName]).then((r: [unknown[]]) => r[0]);
  const out = new Map<string, TargetColumn>();
  for (const raw of rows as Array<Record<string, unknown>>) {
    out.set(String(raw['name']), {
      dataType: String(raw['type']).toLowerCase(),
      udt: String(raw['udt'] ?? '').toLowerCase(),
      precision: raw['precision'] === null || raw['precision'] === undefined ? null : Number(raw['precision']),
      scale: raw['scale'] === null || raw['scale'] === undefined ? null : Number(raw['scale']),
    });
  }
  if (type === 'mysql') for (const name of await mariaDbJsonColumns(db, mapping)) {
    const column = out.get(name);
    if (column) out.set(name, { ...column, dataType: 'json' });
  }
  return out;
}

/** MariaDB's JSON is a LONGTEXT whose CHECK constraint is `json_valid(column)` (MySQL says DATA_TYPE json itself). */
async function mariaDbJsonColumns(db: Knex | Knex.Transaction, mapping: Mapping): Promise<string[]> {
  let checks: Array<Record<string, unknown>>;
  try {
    checks = await db.raw(
      'SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?',
      [mapping.schema ?? null, mapping.tableName]).then((r: [Array<Record<string, unknown>>]) => r[0]);
  } catch {
    return []; // MySQL before 8.0.16 has no CHECK_CONSTRAINTS (and its JSON columns say so)
  }
  return checks.flatMap((c) => {
    const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(c['clause']).trim());
    return m ? [m[1]!.replace(/``/g, '`')] : [];
  });
}

/** `row` with each value converted for its column (columns the catalog does not list are left as they are). */
export function toColumnValues(type: SqlType, columns: TargetColumns, row: Row): Record<string, Value | Buffer> {
  const out: Record<string, Value | Buffer> = {};
  for (const [name, value] of Object.entries(row)) {
    const column = columns.get(name);
    try {
      out[name] = column ? toColumnValue(type, column, value) : value;
    } catch (error) {
      if (error instanceof ValueNotHeld) throw new ValueNotHeld(`column ${name} (${column?.udt || column?.dataType}): ${error.message}`);
      throw error;
    }
  }
  return out;
}

export function toColumnValue(type: SqlType, column: TargetColumn, value: Value): Value | Buffer {
  if (value === null) return null;
  if (type === 'postgres') return toPostgres(column, value);
  if (type === 'mysql') return toMysql(column, value);
  return value;
}

/**
 * A row as the target returns it → the raw values `toValue` reads into
 * canonical form, for the columns whose driver form differs from it: a
 * MariaDB/MySQL BIT(n) comes back as bytes, its canonical form is the bit
 * string (so a redelivered task finds its bits in place, and conditional
 * writes do not take them for a change made under tandem).
 */
export function fromColumnValues(type: SqlType, columns: TargetColumns, raw: Record<string, unknown>): Record<string, unknown> {
  if (type !== 'mysql') return raw;
  const out: Record<string, unknown> = { ...raw };
  for (const [name, value] of Object.entries(raw)) {
    const column = columns.get(name);
    if (column?.dataType === 'bit' && Buffer.isBuffer(value)) out[name] = bitsOfBytes(value, column.precision ?? 1);
  }
  return out;
}

function bitsOfBytes(bytes: Buffer, width: number): string {
  const value = bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
  return value.toString(2).padStart(width, '0');
}

// ---------------------------------------------------------------- PostgreSQL

function toPostgres(column: TargetColumn, value: Value): Value | Buffer {
  switch (column.dataType) {
    case 'bytea':
      return bytes(value);
    case 'bit':
    case 'bit varying':
      return bitText(value);
    case 'json':
    case 'jsonb':
      return jsonText(value);
    case 'array':
      // bytea[]: the elements' bytes as PostgreSQL's hex escapes in an array literal.
      return column.udt === '_bytea' && Array.isArray(value) ? value.map(hexBytea) : value;
    default:
      return value;
  }
}

function hexBytea(item: Value): Value {
  if (Array.isArray(item)) return item.map(hexBytea);
  return item === null ? null : `\\x${bytes(item).toString('hex')}`;
}

// ------------------------------------------------------------- MySQL/MariaDB

const MYSQL_BYTES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
const MYSQL_FLOATS = new Set(['float', 'double', 'real']);
const MYSQL_TEMPORAL = new Set(['date', 'datetime', 'timestamp', 'time', 'year']);

function toMysql(column: TargetColumn, value: Value): Value | Buffer {
  const t = column.dataType;
  if (MYSQL_BYTES.has(t)) return bytes(value);
  if (t === 'bit') return bitBytes(value, column.precision ?? 1);
  if (t === 'json') return jsonText(value);
  if (MYSQL_FLOATS.has(t)) return mysqlFloat(value, t === 'float');
  if (t === 'decimal') return mysqlDecimal(value, column);
  if (MYSQL_TEMPORAL.has(t)) return mysqlTemporal(value, t);
  return value;
}

/**
 * MariaDB has no NaN, infinity or negative zero: -0 is written as 0
 * (documented), the others are refused. A FLOAT (single precision) gets the
 * float32 nearest the value: a real's canonical number is its float32 printed
 * shortest (`3.4028235e38`), which as a double is just beyond FLOAT's range.
 */
function mysqlFloat(value: Value, single: boolean): Value {
  if (value === '-0') return 0;
  if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') throw new ValueNotHeld(`MariaDB/MySQL floats cannot hold ${value}`);
  return single && typeof value === 'number' ? Math.fround(value) : value;
}

/** A decimal with more fraction digits than the column keeps would be rounded silently (a note, not an error): refused. */
function mysqlDecimal(value: Value, column: TargetColumn): Value {
  if (typeof value === 'string' && /^(NaN|-?Infinity|infinity|-infinity)$/.test(value)) throw new ValueNotHeld(`MariaDB/MySQL DECIMAL cannot hold ${value}`);
  const key = decimalKey(typeof value === 'boolean' ? Number(value) : value);
  if (key === null || column.scale === null) return value;
  const exponent = Number(key.slice(key.indexOf('e') + 1));
  if (-exponent > column.scale) throw new ValueNotHeld(`${String(value)} has more than the column's ${column.scale} fraction digits`);
  return value;
}

/** PostgreSQL's ±infinity and BC dates have no MariaDB/MySQL form. */
function mysqlTemporal(value: Value, dataType: string): Value {
  if (typeof value !== 'string') return value;
  if (/^[+-]?infinity$/i.test(value)) throw new ValueNotHeld(`MariaDB/MySQL ${dataType.toUpperCase()} cannot hold ${value}`);
  if (/\bBC$/.test(value) || /^-\d{4}/.test(value)) throw new ValueNotHeld(`MariaDB/MySQL ${dataType.toUpperCase()} cannot hold a date before year 1 (${value})`);
  return value;
}

/**
 * Debezium sends BIT(1) as a Connect boolean that capture cannot always tell
 * from a boolean column: true/false in a bit column is the bit '1'/'0'.
 */
function bitText(value: Value): Value {
  return typeof value === 'boolean' ? (value ? '1' : '0') : value;
}

/** '0101…' (most significant bit first) → the big-endian bytes a BIT(n) column takes. */
function bitBytes(raw: Value, width: number): Buffer {
  const value = bitText(raw);
  if (typeof value !== 'string' || !/^[01]*$/.test(value)) throw new ValueNotHeld(`not a bit string: ${describe(value)}`);
  const significant = value.replace(/^0+/, '');
  if (significant.length > width) throw new ValueNotHeld(`${value.length} bits do not fit BIT(${width})`);
  const byteCount = Math.max(1, Math.ceil(width / 8));
  const hex = (significant === '' ? 0n : BigInt(`0b${significant}`)).toString(16).padStart(byteCount * 2, '0');
  return Buffer.from(hex, 'hex');
}

// ------------------------------------------------------------------- shared

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Canonical bytes (padded base64) → the bytes. Anything else is refused rather than stored as its text. */
function bytes(value: Value): Buffer {
  if (typeof value !== 'string' || !BASE64.test(value)) throw new ValueNotHeld(`bytes must be padded base64, got ${describe(value)}`);
  return Buffer.from(value, 'base64');
}

/**
 * A JSON value → JSON text. Capture carries a json column's value parsed
 * (object, array, number, boolean) unless that would lose something: a
 * number beyond a double, or a top level that is a string or null. Then it
 * carries the JSON text itself, so a string here is always JSON text, sent as
 * it is, digits intact (see the canonical forms in the README).
 */
function jsonText(value: Value): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function describe(value: Value): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
}
