/**
 * Hash push-down for two PostgreSQL systems that key and map an entity
 * alike (like data-diff): each database sums a 64-bit hash of every row's
 * text per key range; ranges whose counts and sums agree are proved equal without a row
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
  /**
   * The row hash. Both servers on one major version: the 64-bit hashes hash
   * partitioning relies on staying stable — of the record itself
   * (hash_record_extended, PostgreSQL 14+, no text output: twice as fast)
   * when every column's type hashes exactly what its text shows, else of
   * the row's text (hashtextextended). Otherwise a 60-bit prefix of md5.
   */
  hash?: RowHash;
  /** Ranges of the first level per chunk (default FIRST_CHUNK; small in tests, to cross chunk boundaries). */
  firstChunk?: number;
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

/** Keys per range of the first hashed level (taken from the side with more rows). */
const FIRST_STEP = 32;

/**
 * Yields the rows of every range that differs; `progress` counts the rest.
 * The first level cuts the key space every FIRST_STEP keys of the larger
 * side (from its key index) and hashes the ranges of each chunk of them in
 * one aggregate per side: in the usual case, a little drift spread over the
 * table, only the ranges that hold it are read. A range much larger on one
 * side (rows inserted there) is split again at its quantiles before it is
 * read.
 */
export async function* differingRows(plan: PushdownPlan, progress: PushdownProgress): AsyncGenerator<RowBatch> {
  plan.hash ??= await chooseHash(plan);
  const totals = { a: 0, b: 0 };
  for await (const chunk of firstSegments(plan)) {
    let segments = chunk;
    let first = true;
    while (segments.length > 0) {
      const [statsA, statsB] = await Promise.all([hashLevel(plan, 'a', segments), hashLevel(plan, 'b', segments)]);
      const large: Array<{ segment: Segment; side: 'a' | 'b' }> = [];
      const fine: Segment[] = [];
      segments.forEach((segment, i) => {
        const a = statsA[i]!;
        const b = statsB[i]!;
        if (first) {
          totals.a += a.n;
          totals.b += b.n;
        }
        if (a.n === b.n && a.sum === b.sum) progress.rowsHashed += a.n;
        else if (Math.max(a.n, b.n) <= STREAM_MAX) fine.push(segment);
        else large.push({ segment, side: a.n >= b.n ? 'a' : 'b' });
      });
      first = false;
      for (let i = 0; i < fine.length; i += FETCH_RANGES) {
        const ranges = fine.slice(i, i + FETCH_RANGES);
        const [a, b] = await Promise.all([rowsIn(plan.a, plan.keyA, plan.keyType, ranges), rowsIn(plan.b, plan.keyB, plan.keyType, ranges)]);
        yield { a, b };
      }
      segments = await splitLarge(plan, large);
    }
    progress.rows = Math.max(totals.a, totals.b);
  }
}

/** Ranges of the first level per chunk: memory stays bounded however many rows the table has. */
const FIRST_CHUNK = 16_384;

/**
 * The first level, a chunk at a time: ranges of FIRST_STEP keys of the side
 * with more rows (by the planner's estimate), read from its key index in key
 * order (keyset: each chunk starts where the last one ended).
 */
async function* firstSegments(plan: PushdownPlan): AsyncGenerator<Segment[]> {
  const estimate = async (reader: PgTableReader) =>
    Number((await reader.client.query<{ n: string }>(`SELECT reltuples::bigint AS n FROM pg_class WHERE oid = $1::regclass`, [reader.quotedTable])).rows[0]?.n ?? 0);
  const [na, nb] = await Promise.all([estimate(plan.a), estimate(plan.b)]);
  const [reader, keyColumn] = na >= nb ? [plan.a, plan.keyA] : [plan.b, plan.keyB];
  const key = pg.escapeIdentifier(keyColumn);
  const chunk = plan.firstChunk ?? FIRST_CHUNK;
  for (let lo: string | null = null; ;) {
    const params: unknown[] = [FIRST_STEP, FIRST_STEP * chunk];
    const from: string = lo === null ? '' : `WHERE ${key} >= $${params.push(lo)}::${plan.keyType}`;
    const { rows }: { rows: Array<{ k: string }> } = await reader.client.query<{ k: string }>(
      `SELECT k FROM (SELECT ${key}::text AS k, row_number() OVER (ORDER BY ${key}) AS rn
         FROM (SELECT ${key} FROM ${reader.quotedTable} ${from} ORDER BY ${key} LIMIT $2) page) s
       WHERE rn % $1 = 0 ORDER BY rn`,
      params,
    );
    const bounds: string[] = rows.map((r) => r.k);
    const last = bounds.length < chunk;
    const points: Array<string | null> = [lo, ...bounds];
    if (last) points.push(null);
    yield points.slice(0, -1).map((start, i) => ({ lo: start, hi: points[i + 1]! }));
    if (last) return;
    lo = bounds[bounds.length - 1]!;
  }
}

/** Ranges too large to read at once, split at the quantiles of their larger side. */
async function splitLarge(plan: PushdownPlan, large: ReadonlyArray<{ segment: Segment; side: 'a' | 'b' }>): Promise<Segment[]> {
  if (large.length === 0) return [];
  const quantiles = new Map<Segment, string[]>();
  for (const side of ['a', 'b'] as const) {
    const segments = large.filter((l) => l.side === side).map((l) => l.segment);
    if (segments.length === 0) continue;
    const found = await quantilesOf(plan, side, segments);
    segments.forEach((s, i) => quantiles.set(s, found[i]!));
  }
  const next: Segment[] = [];
  for (const { segment } of large) {
    const subs = split(segment, quantiles.get(segment) ?? []);
    // A range that cannot be split (every key equal to its start) is read as it is.
    if (subs.length < 2) next.push(segment);
    else next.push(...subs);
  }
  return next;
}

/** Sub-ranges of a segment at the given quantile keys (duplicates and the segment's own bounds dropped). */
function split(segment: Segment, quantiles: readonly string[]): Segment[] {
  const bounds: string[] = [];
  for (const q of quantiles) if (q !== segment.lo && q !== bounds[bounds.length - 1]) bounds.push(q);
  if (bounds.length === 0) return [];
  const points = [segment.lo, ...bounds, segment.hi];
  return points.slice(0, -1).map((lo, i) => ({ lo, hi: points[i + 1]! }));
}

/** The bucket thresholds of a list of ordered segments, and each segment's bucket (width_bucket). */
function buckets(segments: readonly Segment[]): { thresholds: string[]; bucketOf: number[] } {
  const thresholds: string[] = [];
  const bucketOf: number[] = [];
  for (const s of segments) {
    if (s.lo !== null && thresholds[thresholds.length - 1] !== s.lo) thresholds.push(s.lo);
    bucketOf.push(s.lo === null ? 0 : thresholds.length);
    if (s.hi !== null && thresholds[thresholds.length - 1] !== s.hi) thresholds.push(s.hi);
  }
  return { thresholds, bucketOf };
}

/** The key range the segments span, as a WHERE clause (parameters appended to `params`). */
function spanWhere(key: string, keyType: string, segments: readonly Segment[], params: unknown[]): string {
  const where: string[] = [];
  const firstLo = segments[0]!.lo;
  const lastHi = segments[segments.length - 1]!.hi;
  if (firstLo !== null) where.push(`${key} >= $${params.push(firstLo)}::${keyType}`);
  if (lastHi !== null) where.push(`${key} < $${params.push(lastHi)}::${keyType}`);
  return where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
}

/**
 * One aggregate per side and level: per segment, the row count and the sum
 * of each row's hash (a hash aggregate, no sort).
 * Segments are contiguous or separated by gaps whose buckets are ignored.
 */
async function hashLevel(plan: PushdownPlan, side: 'a' | 'b', segments: readonly Segment[]): Promise<SegmentStats[]> {
  const reader = side === 'a' ? plan.a : plan.b;
  const key = pg.escapeIdentifier(side === 'a' ? plan.keyA : plan.keyB);
  const columns = (side === 'a' ? plan.columnsA : plan.columnsB).map((c) => pg.escapeIdentifier(c));
  const { thresholds, bucketOf } = buckets(segments);
  const params: unknown[] = [thresholds];
  const where = spanWhere(key, plan.keyType, segments, params);
  const { rows } = await reader.client.query<{ b: number; n: number; s: string }>(
    `SELECT width_bucket(${key}, $1::${plan.keyType}[]) AS b, count(*)::int AS n,
       sum(${rowHash(plan.hash ?? 'md5', columns)})::text AS s
     FROM ${reader.quotedTable} ${where} GROUP BY 1`,
    params,
  );
  const byBucket = new Map(rows.map((r) => [r.b, r]));
  return bucketOf.map((b) => {
    const r = byBucket.get(b);
    return r ? { n: r.n, sum: r.s } : { n: 0, sum: '0' };
  });
}

type RowHash = 'record' | 'hashtextextended' | 'md5';

function rowHash(kind: RowHash, columns: readonly string[]): string {
  const row = `ROW(${columns.join(', ')})`;
  if (kind === 'record') return `hash_record_extended(${row}, 0)`;
  return kind === 'hashtextextended' ? `hashtextextended(${row}::text, 0)` : `('x' || substr(md5(${row}::text), 1, 15))::bit(60)::bigint`;
}

/**
 * Types whose hash tells apart exactly the values whose text differs. Not
 * numeric without a scale (1.0 and 1.00 hash alike), not floats (-0 and 0),
 * not json (no hash at all).
 */
const RECORD_HASHABLE = /^(smallint|integer|bigint|text|character varying(\(\d+\))?|character(\(\d+\))?|uuid|boolean|date|timestamp(\(\d\))? with(out)? time zone|numeric\(\d+,\d+\)|bytea|jsonb)$/;

async function chooseHash(plan: PushdownPlan): Promise<RowHash> {
  const major = async (reader: PgTableReader) => Math.floor(Number((await reader.client.query<{ v: string }>('SHOW server_version_num')).rows[0]!.v) / 10_000);
  const [a, b] = await Promise.all([major(plan.a), major(plan.b)]);
  if (a !== b || a < 11) return 'md5';
  const exact = plan.columnsA.every((c) => RECORD_HASHABLE.test(plan.a.columnTypes.get(c)!));
  return a >= 14 && exact ? 'record' : 'hashtextextended';
}

/** Per segment, the keys at 1/FANOUT, 2/FANOUT, … of its rows on one side. */
async function quantilesOf(plan: PushdownPlan, side: 'a' | 'b', segments: readonly Segment[]): Promise<string[][]> {
  const reader = side === 'a' ? plan.a : plan.b;
  const key = pg.escapeIdentifier(side === 'a' ? plan.keyA : plan.keyB);
  const { thresholds, bucketOf } = buckets(segments);
  const params: unknown[] = [thresholds, Array.from({ length: FANOUT - 1 }, (_, i) => (i + 1) / FANOUT), [...new Set(bucketOf)]];
  const where = spanWhere(key, plan.keyType, segments, params);
  const { rows } = await reader.client.query<{ b: number; q: string[] }>(
    `SELECT b, (percentile_disc($2::float8[]) WITHIN GROUP (ORDER BY k))::text[] AS q
     FROM (SELECT width_bucket(${key}, $1::${plan.keyType}[]) AS b, ${key} AS k FROM ${reader.quotedTable} ${where}) t
     WHERE b = ANY($3::int[]) GROUP BY b`,
    params,
  );
  const byBucket = new Map(rows.map((r) => [r.b, r.q]));
  return bucketOf.map((b) => byBucket.get(b) ?? []);
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
