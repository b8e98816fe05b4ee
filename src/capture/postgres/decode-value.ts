/**
 * Column text (as pgoutput and a text-mode query send it) → `Value`, by type
 * OID. The same functions serve the stream and the snapshot, so a row read
 * in the snapshot and the same row streamed later compare equal.
 */
import type { Value } from '../change-event';
import { DecodeError } from '../../errors';
import { canonicalFloatText, canonicalInterval, canonicalJson } from '../canonical';
import { parseArrayLiteral, type ArrayItem } from './array-literal';
import { decodeTimestamp, decodeTimestamptz } from './pg-time';

/** Built-in type OIDs (pg_type.dat); stable across PostgreSQL versions. */
export const OID = {
  bool: 16, bytea: 17, char: 18, name: 19, int8: 20, int2: 21, int4: 23, text: 25, oid: 26,
  json: 114, float4: 700, float8: 701, bpchar: 1042, varchar: 1043, date: 1082, time: 1083,
  timestamp: 1114, timestamptz: 1184, timetz: 1266, numeric: 1700, uuid: 2950, jsonb: 3802,
  interval: 1186, money: 790, bit: 1560, varbit: 1562,
} as const;

/** Array type OID → element type OID for the built-in element types above (and a few more). */
const BUILTIN_ARRAYS: ReadonlyMap<number, number> = new Map([
  [1000, OID.bool], [1001, OID.bytea], [1002, OID.char], [1003, OID.name], [1016, OID.int8],
  [1005, OID.int2], [1007, OID.int4], [1009, OID.text], [1028, OID.oid], [199, OID.json],
  [1021, OID.float4], [1022, OID.float8], [1014, OID.bpchar], [1015, OID.varchar],
  [1182, OID.date], [1183, OID.time], [1115, OID.timestamp], [1185, OID.timestamptz],
  [1270, OID.timetz], [1231, OID.numeric], [2951, OID.uuid], [3807, OID.jsonb],
  [1187, OID.interval], [1041, 869 /* inet */], [651, 650 /* cidr */], [143, 142 /* xml */],
  [791, OID.money], [1561, OID.bit], [1563, OID.varbit],
]);

/** Array types the built-in table does not know (user types), learnt at run time. */
export type ArrayTypes = ReadonlyMap<number, number>;

export function arrayElementOid(oid: number, extra?: ArrayTypes): number | undefined {
  return BUILTIN_ARRAYS.get(oid) ?? extra?.get(oid);
}

export function decodeValue(text: string, oid: number, extra?: ArrayTypes): Value {
  const element = arrayElementOid(oid, extra);
  if (element !== undefined) return decodeArray(text, element, extra);
  return decodeScalar(text, oid);
}

function decodeArray(text: string, elementOid: number, extra?: ArrayTypes): Value[] {
  const decodeItem = (item: ArrayItem): Value =>
    item === null ? null : Array.isArray(item) ? item.map(decodeItem) : decodeValue(item, elementOid, extra);
  return parseArrayLiteral(text).map(decodeItem);
}

export function decodeScalar(text: string, oid: number): Value {
  switch (oid) {
    case OID.int2:
    case OID.int4:
    case OID.oid:
      return decodeInteger(text);
    case OID.float4:
    case OID.float8:
      return decodeFloat(text);
    case OID.bool:
      return decodeBool(text);
    case OID.timestamp:
      return decodeTimestamp(text);
    case OID.timestamptz:
      return decodeTimestamptz(text);
    case OID.json:
    case OID.jsonb:
      return decodeJson(text);
    case OID.bytea:
      return decodeBytea(text);
    case OID.interval:
      return decodeInterval(text);
    case OID.money:
      return decodeMoney(text);
    default:
      // int8 and numeric stay exact decimal strings (numeric 'NaN' too);
      // text types, date, time, timetz, uuid and unknown types are their text.
      return text;
  }
}

function decodeInteger(text: string): number {
  // Number() would also take ' 12', '0x1A' and '1e3': only PostgreSQL's own output is an integer here.
  const n = /^-?\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new DecodeError(`not an integer: ${text.slice(0, 40)}`);
  return n;
}

/** NaN, ±Infinity and -0 have no JSON number form: the canonical strings. */
function decodeFloat(text: string): number | string {
  const value = canonicalFloatText(text);
  if (value === null) throw new DecodeError(`not a float: ${text.slice(0, 40)}`);
  return value;
}

/** Any IntervalStyle's output (the connections set iso_8601) → the canonical ISO 8601 form. */
function decodeInterval(text: string): string {
  const value = canonicalInterval(text);
  if (value === null) throw new DecodeError(`not an interval: ${text.slice(0, 60)}`);
  return value;
}

/**
 * money prints with lc_monetary's currency symbol and grouping ('-$1,234.56'
 * in C/en_US): the plain decimal is what every other path (and numeric)
 * carries. Locales with a decimal comma are refused rather than misread.
 */
function decodeMoney(text: string): string {
  const negative = /^-|^\(.*\)$/.test(text);
  const digits = text.replace(/[^0-9.]/g, '');
  if (!/^\d+(\.\d+)?$/.test(digits) || /\d,\d{1,2}$/.test(text)) throw new DecodeError(`money in an unsupported lc_monetary format: ${text.slice(0, 40)}`);
  return negative && /[1-9]/.test(digits) ? `-${digits}` : digits;
}

function decodeBool(text: string): boolean {
  if (text === 't' || text === 'true') return true;
  if (text === 'f' || text === 'false') return false;
  throw new DecodeError(`not a boolean: ${text}`);
}

/** json/jsonb → the canonical JSON value (see canonical/json.ts): no number beyond a double is rounded. */
function decodeJson(text: string): Value {
  try {
    return canonicalJson(text);
  } catch (error) {
    throw new DecodeError(`bad JSON value: ${text.slice(0, 100)}`, {}, { cause: error });
  }
}

/** `\x0aff` (bytea_output=hex, which the connections set) → base64. */
export function decodeBytea(text: string): string {
  // Buffer.from(…, 'hex') stops silently at the first bad digit: check the whole text first.
  if (!/^\\x(?:[0-9a-fA-F]{2})*$/.test(text)) throw new DecodeError('bytea not in hex format (bytea_output must be hex)');
  return Buffer.from(text.slice(2), 'hex').toString('base64');
}
