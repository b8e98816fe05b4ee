/**
 * Hash push-down for two PostgreSQL systems that key and map an entity
 * alike (like data-diff): each database sums a hash of every row per key
 * range; ranges whose counts and sums agree are proved equal without a row
 * leaving the database. Ranges that differ are split (the quantiles of the
 * side with more rows come back in the same query) and hashed again, until
 * they are small enough to read row by row.
 *
 * Only where it is sound: the same single key column type and value on both
 * sides (the key column mapped to the same field, no converters), the same
 * written fields with the same converters and column types, no reference
 * fields. Equal raw text then means equal canonical values; unequal raw text
 * is handed to the row-by-row comparison, which judges canonical values.
 */
import pg from 'pg';
import type { MappingSpec } from '../config';
import type { Row } from '../capture';
import type { PgTableReader } from './pg-reader';

export interface PushdownPlan {
  a: PgTableReader;
  b: PgTableReader;
  keyType: string;
  /** Columns hashed, key first, in the same field order on both sides. */
  columnsA: string[];
  columnsB: string[];
  keyA: string;
  keyB: string;
}

/** Ranges of at most this many rows (on the larger side) are read row by row. */
export const STREAM_MAX = 64;
/** A differing range is split into this many. */
const FANOUT = 16;
/** Ranges fetched row by row per query. */
const FETCH_RANGES = 256;

type FieldSpec = MappingSpec['fields'][string];
const columnOf = (spec: FieldSpec) => (typeof spec === 'string' ? spec : spec.column);
const convertOf = (spec: FieldSpec) => (typeof spec === 'string' ? [] : spec.convert);
const isRef = (spec: FieldSpec) => typeof spec !== 'string' && spec.ref !== undefined;
const isReadOnly = (spec: FieldSpec) => typeof spec !== 'string' && spec.readOnly;

/** The push-down plan for two sides, or the reason there is none. */
export function pushdownPlan(specA: MappingSpec, specB: MappingSpec, a: PgTableReader, b: PgTableReader): PushdownPlan | string {
  if (specA.key.columns.length !== 1 || specB.key.columns.length !== 1) return 'composite key';
  const [keyA, keyB] = [specA.key.columns[0]!, specB.key.columns[0]!];
  const keyField = (spec: MappingSpec, column: string) => Object.entries(spec.fields).find(([, f]) => columnOf(f) === column && convertOf(f).length === 0 && !isRef(f))?.[0];
  const fieldA = keyField(specA, keyA);
  if (fieldA === undefined || fieldA !== keyField(specB, keyB)) return 'the key columns are not mapped to one field without converters on both sides';
  const written = (spec: MappingSpec) => Object.keys(spec.fields).filter((f) => !isReadOnly(spec.fields[f]!)).sort();
  const fields = written(specA);
  if (fields.join(',') !== written(specB).join(',')) return 'the two systems write different fields';
  const columnsA = [keyA];
  const columnsB = [keyB];
  for (const field of fields) {
    const [fa, fb] = [specA.fields[field]!, specB.fields[field]!];
    if (isRef(fa) || isRef(fb)) return `reference field ${field}`;
    if (JSON.stringify(convertOf(fa)) !== JSON.stringify(convertOf(fb))) return `field ${field} has different converters`;
    columnsA.push(columnOf(fa));
    columnsB.push(columnOf(fb));
  }
  for (let i = 0; i < columnsA.length; i++) {
    const [ta, tb] = [a.columnTypes.get(columnsA[i]!), b.columnTypes.get(columnsB[i]!)];
    if (ta !== tb) return `column ${columnsA[i]} is ${ta} in ${a.system} but ${columnsB[i]} is ${tb} in ${b.system}`;
  }
  return { a, b, keyType: a.columnTypes.get(keyA)!, columnsA, columnsB, keyA, keyB };
}

/** A key range [lo, hi); null bounds are open. Bounds are the key's text form. */
interface Segment {
  lo: string | null;
  hi: string | null;
}

interface SegmentStats {
  n: number;
  sum: string;
  quantiles: string[];
}

/** Rows of both sides in key ranges whose hashes differ, a batch at a time. */
export interface RowBatch {
  a: Row[];
  b: Row[];
}

export interface PushdownProgress {
  /** Rows proved equal by their range hashes. */
  rowsHashed: number;
  /** Rows on the larger side of the whole table. */
  rows: number;
}

/** Yields the rows of every range that differs; `progress` counts the rest. */
export async function* differingRows(plan: PushdownPlan, progress: PushdownProgress): AsyncGenerator<RowBatch> {
  let segments: Segment[] = [{ lo: null, hi: null }];
  let first = true;
  while (segments.length > 0) {
    const [statsA, statsB] = await Promise.all([hashLevel(plan, 'a', segments), hashLevel(plan, 'b', segments)]);
    const next: Segment[] = [];
    const fine: Segment[] = [];
    segments.forEach((segment, i) => {
      const a = statsA[i]!;
      const b = statsB[i]!;
      if (first) progress.rows = Math.max(a.n, b.n);
      if (a.n === b.n && a.sum === b.sum) {
        progress.rowsHashed += a.n;
        return;
      }
      const subs = Math.max(a.n, b.n) <= STREAM_MAX ? [] : split(segment, a.n >= b.n ? a.quantiles : b.quantiles);
      if (subs.length < 2) fine.push(segment);
      else next.push(...subs);
    });
    first = false;
    for (let i = 0; i < fine.length; i += FETCH_RANGES) {
      const ranges = fine.slice(i, i + FETCH_RANGES);
      const [a, b] = await Promise.all([rowsIn(plan.a, plan.keyA, plan.keyType, ranges), rowsIn(plan.b, plan.keyB, plan.keyType, ranges)]);
      yield { a, b };
    }
    segments = next;
  }
}

/** Sub-ranges of a segment at the given quantile keys (duplicates and the segment's own bounds dropped). */
function split(segment: Segment, quantiles: readonly string[]): Segment[] {
  const bounds: string[] = [];
  for (const q of quantiles) if (q !== segment.lo && q !== bounds[bounds.length - 1]) bounds.push(q);
  if (bounds.length === 0) return [];
  const points = [segment.lo, ...bounds, segment.hi];
  return points.slice(0, -1).map((lo, i) => ({ lo, hi: points[i + 1]! }));
}

/**
 * One query per side and level: per segment, the row count, the sum of a
 * 60-bit prefix of each row's md5, and the quantile keys to split it at.
 * Segments are contiguous or separated by gaps whose buckets are ignored.
 */
async function hashLevel(plan: PushdownPlan, side: 'a' | 'b', segments: readonly Segment[]): Promise<SegmentStats[]> {
  const reader = side === 'a' ? plan.a : plan.b;
  const key = pg.escapeIdentifier(side === 'a' ? plan.keyA : plan.keyB);
  const columns = (side === 'a' ? plan.columnsA : plan.columnsB).map((c) => pg.escapeIdentifier(c));
  const thresholds: string[] = [];
  const bucketOf: number[] = [];
  for (const s of segments) {
    if (s.lo !== null && thresholds[thresholds.length - 1] !== s.lo) thresholds.push(s.lo);
    bucketOf.push(s.lo === null ? 0 : thresholds.length);
    if (s.hi !== null && thresholds[thresholds.length - 1] !== s.hi) thresholds.push(s.hi);
  }
  const where: string[] = [];
  const params: unknown[] = [thresholds, Array.from({ length: FANOUT - 1 }, (_, i) => (i + 1) / FANOUT)];
  const firstLo = segments[0]!.lo;
  const lastHi = segments[segments.length - 1]!.hi;
  if (firstLo !== null) where.push(`${key} >= $${params.push(firstLo)}::${plan.keyType}`);
  if (lastHi !== null) where.push(`${key} < $${params.push(lastHi)}::${plan.keyType}`);
  const { rows } = await reader.client.query<{ b: number; n: number; s: string; q: string[] }>(
    `SELECT width_bucket(${key}, $1::${plan.keyType}[]) AS b, count(*)::int AS n,
       sum(('x' || substr(md5(ROW(${columns.join(', ')})::text), 1, 15))::bit(60)::bigint)::text AS s,
       (percentile_disc($2::float8[]) WITHIN GROUP (ORDER BY ${key}))::text[] AS q
     FROM ${reader.quotedTable} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY 1`,
    params,
  );
  const byBucket = new Map(rows.map((r) => [r.b, r]));
  return bucketOf.map((b) => {
    const r = byBucket.get(b);
    return r ? { n: r.n, sum: r.s, quantiles: r.q } : { n: 0, sum: '0', quantiles: [] };
  });
}

/** Every row of one side in the given ranges (bounded ones in one join; open-ended ones on their own). */
async function rowsIn(reader: PgTableReader, keyColumn: string, keyType: string, ranges: readonly Segment[]): Promise<Row[]> {
  const key = pg.escapeIdentifier(keyColumn);
  const rows: Row[] = [];
  const bounded = ranges.filter((r) => r.lo !== null && r.hi !== null);
  if (bounded.length > 0) {
    const { rows: found } = await reader.select(
      `SELECT t.* FROM unnest($1::${keyType}[], $2::${keyType}[]) AS r(lo, hi) JOIN ${reader.quotedTable} t ON t.${key} >= r.lo AND t.${key} < r.hi`,
      [bounded.map((r) => r.lo), bounded.map((r) => r.hi)],
    );
    rows.push(...found);
  }
  for (const r of ranges.filter((x) => x.lo === null || x.hi === null)) {
    const where: string[] = [];
    const params: unknown[] = [];
    if (r.lo !== null) where.push(`${key} >= $${params.push(r.lo)}::${keyType}`);
    if (r.hi !== null) where.push(`${key} < $${params.push(r.hi)}::${keyType}`);
    const { rows: found } = await reader.select(`SELECT * FROM ${reader.quotedTable} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`, params);
    rows.push(...found);
  }
  return rows;
}
