/**
 * The canonical interval form checked against PostgreSQL itself: for random
 * (months, days, microseconds), PostgreSQL's iso_8601 output is exactly what
 * formatIsoInterval prints, its default (postgres style) output parses back
 * to the same three fields, and PostgreSQL reads our text back as the same
 * interval.
 */
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalInterval, formatIsoInterval, parseIsoDuration, parsePostgresInterval } from '../../../src/capture/canonical';
import { requireEnv, TEST_ENV } from '../../support';

let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString: requireEnv(TEST_ENV.pg) });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
});

const INT32 = 2_147_483_647;
// interval * float8 is exact below 2^53 microseconds (about 285 years).
const MICROS = 2 ** 52;
const triple = fc.tuple(
  fc.oneof(fc.integer({ min: -INT32, max: INT32 }), fc.integer({ min: -30, max: 30 }), fc.constant(0)),
  fc.oneof(fc.integer({ min: -INT32, max: INT32 }), fc.integer({ min: -40, max: 40 }), fc.constant(0)),
  fc.oneof(fc.integer({ min: -MICROS, max: MICROS }), fc.integer({ min: -100_000_000, max: 100_000_000 }), fc.constantFrom(0, 1, -1, 86_400_000_000, -86_400_000_001, -3_020_399_000_000)),
);

async function render(style: string, rows: Array<[number, number, number]>): Promise<string[]> {
  await client.query(`SET IntervalStyle = ${style}`);
  const { rows: out } = await client.query<{ t: string }>(
    `SELECT (m * interval '1 month' + d * interval '1 day' + u * interval '1 microsecond')::text AS t
       FROM unnest($1::int[], $2::int[], $3::bigint[]) WITH ORDINALITY AS x(m, d, u, n) ORDER BY n`,
    [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => String(r[2]))],
  );
  return out.map((r) => r.t);
}

describe('canonical interval form against PostgreSQL', () => {
  it('prints what iso_8601 prints and reads the postgres style back to the same fields', async () => {
    const rows = fc.sample(triple, { numRuns: 3000, seed: 12 });
    const iso = await render('iso_8601', rows);
    const postgres = await render('postgres', rows);
    rows.forEach(([m, d, u], i) => {
      const parts = { months: BigInt(m), days: BigInt(d), micros: BigInt(u) };
      expect(formatIsoInterval(parts)).toBe(iso[i]);
      expect(parsePostgresInterval(postgres[i]!)).toEqual(parts);
      expect(parseIsoDuration(iso[i]!)).toEqual(parts);
      expect(canonicalInterval(postgres[i]!)).toBe(iso[i]);
    });
    // PostgreSQL accepts the canonical text as input and gives the same interval back.
    await client.query('SET IntervalStyle = iso_8601');
    const { rows: back } = await client.query<{ same: boolean }>(
      `SELECT t::interval::text = t AS same FROM unnest($1::text[]) WITH ORDINALITY AS x(t, n) ORDER BY n`, [iso],
    );
    expect(iso.filter((_, i) => !back[i]!.same)).toEqual([]);
  });

  it('reads Debezium string-mode intervals (every component, signs per component)', async () => {
    await client.query('SET IntervalStyle = iso_8601');
    for (const [debezium, input] of [
      ['P1Y2M3DT4H5M6.78S', '1 year 2 mons 3 days 04:05:06.78'],
      ['P0Y0M-3DT-4H-5M-6.000001S', '-3 days -04:05:06.000001'],
      ['P0Y0M0DT0H0M0S', '0'],
      ['P-1Y-2M0DT0H0M0S', '-1 year -2 mons'],
      ['P0Y0M0DT-838H-59M-59S', '-838:59:59'],
    ] as const) {
      const { rows } = await client.query<{ t: string }>('SELECT $1::interval::text AS t', [input]);
      expect(canonicalInterval(debezium)).toBe(rows[0]!.t);
    }
  });
});
