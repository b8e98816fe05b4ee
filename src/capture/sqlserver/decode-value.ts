/**
 * A value as the `mssql` driver (tedious) returns it → `Value`, by the
 * column's SQL type (`recordset.columns[name].type.declaration`). The same
 * function serves change rows and snapshot rows, so both compare equal.
 *
 * What tedious returns (tedious/lib/value-parser.js, mssql useUTC = true):
 * - tinyint/smallint/int: number; bigint: decimal string; float: number;
 *   real: a float32 widened to a double (3.14 → 3.140000104904175);
 * - decimal/numeric/money/smallmoney: a JS number (lossy!), which is why
 *   the queries CONVERT them to varchar on the server (queries.ts) and they
 *   arrive here as exact text under a varchar column;
 * - bit: boolean; uniqueidentifier: upper-case text; binary/varbinary/image/
 *   rowversion: Buffer; char/varchar/nchar/nvarchar/text/ntext/xml: string;
 * - date: a Date at UTC midnight; time: a Date on 1970-01-01 UTC;
 *   datetime2: a Date whose UTC fields are the wall time; datetimeoffset:
 *   a Date of the UTC instant (the offset is dropped); datetime/smalldatetime:
 *   a Date in UTC fields. A Date has milliseconds only: time, datetime2 and
 *   datetimeoffset carry the rest of the 100 ns units in the non-enumerable
 *   property `nanosecondsDelta` (seconds, e.g. 0.0000567 for 567 units).
 */
import type { Value } from '../change-event';
import { DecodeError } from '../../errors';
import { canonicalFloat, canonicalFloat32 } from '../canonical';

/** Column metadata as mssql reports it (`type` is the lower-case declaration, e.g. `datetime2`). */
export interface ColumnMeta {
  name: string;
  type: string;
  precision?: number;
  scale?: number;
}

const EXACT_NUMERIC = new Set(['decimal', 'numeric', 'money', 'smallmoney']);
const BINARY = new Set(['binary', 'varbinary', 'image', 'udt', 'timestamp', 'rowversion']);

export function decodeSqlServerValue(raw: unknown, type: string, column = '?'): Value {
  if (raw === null || raw === undefined) return null;
  switch (type) {
    case 'tinyint':
    case 'smallint':
    case 'int':
      return expectNumber(raw, type, column);
    case 'float':
      return canonicalFloat(expectNumber(raw, type, column));
    case 'real':
      return canonicalFloat32(expectNumber(raw, type, column));
    case 'bigint':
      return typeof raw === 'bigint' || typeof raw === 'number' ? String(raw) : expectString(raw, type, column);
    case 'bit':
      if (typeof raw === 'boolean') return raw;
      throw bad(raw, type, column);
    case 'uniqueidentifier':
      return expectString(raw, type, column).toLowerCase();
    case 'date':
      return ymd(expectDate(raw, type, column));
    case 'time':
      return hms(expectDate(raw, type, column), 7);
    case 'datetime2':
      return `${ymd(expectDate(raw, type, column))}T${hms(raw as Date, 7)}`;
    case 'datetimeoffset':
      return `${ymd(expectDate(raw, type, column))}T${hms(raw as Date, 7)}Z`;
    case 'datetime':
      return `${ymd(expectDate(raw, type, column))}T${hms(raw as Date, 3)}`;
    case 'smalldatetime':
      return `${ymd(expectDate(raw, type, column))}T${hms(raw as Date, 0)}`;
    default:
      if (EXACT_NUMERIC.has(type)) {
        // A number here has been through a double: refuse rather than carry a rounded value.
        if (typeof raw === 'string') return raw;
        throw new DecodeError(`column ${column} (${type}) arrived as a ${typeof raw}; exact numerics must be converted to text in the query`);
      }
      if (BINARY.has(type)) {
        if (Buffer.isBuffer(raw)) return raw.toString('base64');
        throw bad(raw, type, column);
      }
      if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') return raw;
      if (Buffer.isBuffer(raw)) return raw.toString('base64');
      if (raw instanceof Date) return raw.toISOString();
      throw bad(raw, type, column);
  }
}

function bad(raw: unknown, type: string, column: string): DecodeError {
  const shown = raw instanceof Date ? 'Date' : Buffer.isBuffer(raw) ? 'Buffer' : typeof raw;
  return new DecodeError(`column ${column} (${type}): unexpected ${shown} value from the driver`);
}

function expectNumber(raw: unknown, type: string, column: string): number {
  if (typeof raw === 'number') return raw;
  throw bad(raw, type, column);
}

function expectString(raw: unknown, type: string, column: string): string {
  if (typeof raw === 'string') return raw;
  throw bad(raw, type, column);
}

function expectDate(raw: unknown, type: string, column: string): Date {
  if (raw instanceof Date && !Number.isNaN(raw.getTime())) return raw;
  throw bad(raw, type, column);
}

/** The shortest decimal that reads back as the same float32 (what SQL Server shows for a real). */
export function float32(n: number): number {
  if (!Number.isFinite(n)) return n;
  const single = Math.fround(n);
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(single.toPrecision(digits));
    if (Math.fround(candidate) === single) return candidate;
  }
  return single;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function ymd(date: Date): string {
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
}

/**
 * `HH:MM:SS` plus up to `digits` fraction digits (100 ns units from the
 * milliseconds and `nanosecondsDelta`), trailing zeros dropped as every
 * other capture path prints fractions.
 */
function hms(date: Date, digits: number): string {
  const base = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  if (digits === 0) return base;
  const delta = (date as Date & { nanosecondsDelta?: number }).nanosecondsDelta ?? 0;
  const units = date.getUTCMilliseconds() * 10_000 + Math.round(delta * 1e7);
  const fraction = pad(units, 7).slice(0, digits).replace(/0+$/, '');
  return fraction ? `${base}.${fraction}` : base;
}
