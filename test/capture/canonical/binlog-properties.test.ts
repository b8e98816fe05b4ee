/**
 * MariaDB/MySQL binlog row decoding, property-tested (issue 12): values of
 * every column type, handed over as @vlasky/zongji hands them (with
 * dateStrings), decode through BinlogDecoder to their canonical form; any
 * other value gives only a DecodeError naming the table and column, never a
 * wrong value. About 105,000 generated inputs in total.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Row, Value } from '../../../src/capture';
import { BinlogDecoder, type BinlogColumn, type BinlogEvent } from '../../../src/capture/mysql/binlog-decoder';
import type { TableInfo } from '../../../src/capture/mysql/schema';
import { DecodeError } from '../../../src/errors';
import { bitString, decimalCase, jsonCase, mysqlTime } from './arbitraries';

interface Column { column: BinlogColumn; json?: boolean; raw: unknown; expected: Value }

const T = { decimal: 246, int: 3, float: 4, double: 5, bigint: 8, date: 10, year: 13, bit: 16, timestamp2: 17, datetime2: 18, time2: 19, blob: 252, varString: 253 };
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const col = (type: number, metadata?: { bits: number }): BinlogColumn => ({ name: 'x', type, metadata: metadata ?? null });

const datetime = fc.tuple(fc.integer({ min: 1000, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 999_999 }))
  .map(([y, mo, d, h, mi, s, precision, us]) => {
    const digits = String(us).padStart(6, '0').slice(0, precision);
    // zongji prints the column's precision, trailing zeros included.
    const raw = `${pad(y, 4)}-${pad(mo)}-${pad(d)} ${pad(h)}:${pad(mi)}:${pad(s)}${precision ? `.${digits}` : ''}`;
    const frac = digits.replace(/0+$/, '');
    return { raw, canonical: `${raw.slice(0, 10)}T${raw.slice(11, 19)}${frac ? `.${frac}` : ''}` };
  });

const column: fc.Arbitrary<Column> = fc.oneof(
  fc.integer().map((n) => ({ column: col(T.int), raw: n, expected: n })),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }).map((n) => ({ column: col(T.bigint), raw: Number.isSafeInteger(Number(n)) ? Number(n) : String(n), expected: String(n) })),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => ({ column: col(T.double), raw: n, expected: Object.is(n, -0) ? '-0' : n })),
  fc.constant({ column: col(T.double), raw: Number.MAX_VALUE, expected: Number.MAX_VALUE }),
  fc.float({ noNaN: true, noDefaultInfinity: true }).filter((f) => !Object.is(f, -0)).map((f) => ({ column: col(T.float), raw: f, expected: Number(f.toPrecision(9)) }))
    .map((c) => ({ ...c, expected: shortestFloat32Reference(c.raw as number) })),
  decimalCase.map(({ text }) => ({ column: col(T.decimal), raw: text, expected: text })),
  mysqlTime.chain(({ text, us }) => fc.integer({ min: 0, max: 6 }).filter((p) => us === 0 || String(us).padStart(6, '0').replace(/0+$/, '').length <= p).map((precision) => {
    // zongji: hours with 2 or 3 digits, the fraction at the column's precision.
    const [whole] = text.split('.');
    const raw = `${whole}${precision ? `.${String(us).padStart(6, '0').slice(0, precision)}` : ''}`;
    return { column: col(T.time2), raw, expected: text };
  })),
  datetime.map(({ raw, canonical }) => ({ column: col(T.datetime2), raw, expected: canonical })),
  datetime.map(({ raw, canonical }) => ({ column: col(T.timestamp2), raw, expected: `${canonical}Z` })),
  datetime.map(({ raw }) => ({ column: col(T.date), raw: raw.slice(0, 10), expected: raw.slice(0, 10) })),
  fc.constantFrom('0000-00-00 00:00:00', '2024-00-10 00:00:00').map((raw) => ({ column: col(T.datetime2), raw, expected: null })),
  fc.integer({ min: 1901, max: 2155 }).map((y) => ({ column: col(T.year), raw: y, expected: y })),
  bitString.map((bits) => {
    const bytes = Math.ceil(bits.length / 8);
    const raw = Buffer.from(BigInt(`0b${bits}`).toString(16).padStart(bytes * 2, '0'), 'hex');
    return { column: col(T.bit, { bits: bits.length }), raw, expected: bits };
  }),
  fc.uint8Array({ maxLength: 40 }).map((b) => ({ column: col(T.blob), raw: Buffer.from(b), expected: Buffer.from(b).toString('base64') })),
  fc.string({ unit: 'grapheme' }).map((s) => ({ column: col(T.varString), raw: s, expected: s })),
  // MariaDB's JSON is LONGTEXT: the text, as the binlog has it.
  jsonCase.map(({ text, expected }) => ({ column: col(T.blob), json: true, raw: text, expected: expected as Value })),
  fc.constant({ column: col(T.int), raw: null, expected: null }),
);

/** Independent: the shortest decimal that reads back as the same float32. */
function shortestFloat32Reference(f: number): number {
  for (let p = 1; p <= 9; p++) {
    const c = Number(f.toPrecision(p));
    if (Math.fround(c) === f) return c;
  }
  return f;
}

function decoderFor(columns: Column[]) {
  const names = columns.map((_, i) => `c${i}`);
  const info: TableInfo = {
    database: 'shop', table: 't', columns: [], keyColumns: ['id'],
    jsonColumns: new Set(names.filter((_, i) => columns[i]!.json)),
  };
  const decoder = new BinlogDecoder({ system: 'shop', tables: new Map([['shop.t', info]]), resume: { point: { fileNumber: 1, pos: 4 }, skipThrough: -1 }, now: () => 0 });
  const tableMap = { 7: { parentSchema: 'shop', tableName: 't', columns: [{ name: 'id', type: T.int }, ...columns.map((c, i) => ({ ...c.column, name: names[i]! }))] } };
  return (values: unknown[]): Row => {
    const row: Record<string, unknown> = { id: 1 };
    values.forEach((v, i) => (row[names[i]!] = v));
    const event = (type: string, extra: Partial<BinlogEvent> = {}): BinlogEvent => ({ getTypeName: () => type, timestamp: 1000, nextPosition: 100, ...extra });
    decoder.decode(event('Query', { query: 'BEGIN' }));
    const out = decoder.decode(event('WriteRows', { tableId: 7, tableMap, rows: [row] }));
    decoder.decode(event('Xid', { xid: 5 }));
    const first = out[0];
    if (first?.kind !== 'event' || !first.event.after) throw new Error('no event');
    return first.event.after;
  };
}

// Synchronous property runs keep the worker's event loop busy: let vitest's RPC through between tests.
afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));

describe('binlog rows (property)', () => {
  it.each([1, 2, 3, 4, 5, 6])('decodes every generated value as zongji gives it to its canonical form (part %i)', (part) => {
    fc.assert(fc.property(fc.array(column, { minLength: 1, maxLength: 6 }), (columns) => {
      const row = decoderFor(columns)(columns.map((c) => c.raw));
      columns.forEach((c, i) => expect(row[`c${i}`]).toEqual(c.expected));
    }), { numRuns: 2_000, seed: part }); // about 7,000 values per part
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])('any other value gives a DecodeError naming table and column, or the right value (part %i)', (part) => {
    const type = fc.constantFrom(T.int, T.bigint, T.double, T.float, T.decimal, T.time2, T.datetime2, T.timestamp2, T.date, T.year, T.bit, T.blob, T.varString);
    const raw = fc.oneof(
      fc.anything({ maxDepth: 1 }),
      fc.string(),
      fc.constantFrom('', ' ', '0x10', '1e3', '-838:59:59', '839:00:00', '24:00:00.1234567', '2024-02-30', '12:00', 'NaN', '{"a":', '[1]', '9223372036854775808'),
      fc.uint8Array({ maxLength: 9 }).map((b) => Buffer.from(b)),
    );
    fc.assert(fc.property(type, fc.integer({ min: 1, max: 64 }), raw, (t, bits, value) => {
      const decode = decoderFor([{ column: col(t, { bits }), raw: value, expected: null }]);
      let result: Value;
      try {
        result = decode([value]).c0 ?? null;
      } catch (error) {
        expect(error).toBeInstanceOf(DecodeError);
        expect((error as DecodeError).context).toMatchObject({ system: 'shop', table: 'shop.t' });
        expect((error as DecodeError).message).toMatch(/column c0/);
        return;
      }
      if (value === null || value === undefined) return;
      // Accepted: the value is what that input means, never a guess.
      if (t === T.int || t === T.year) expect(String(result)).toBe(String(value).replace(/^(-?)0+(?=\d)/, '$1'));
      if (t === T.bigint) expect(result).toBe(String(value));
      if (t === T.time2) expect(String(value)).toMatch(/^-?\d{2,3}:\d{2}:\d{2}(\.\d{1,6})?$/);
      if (t === T.bit) expect(typeof result === 'string' && result.length === bits && /^[01]+$/.test(result)).toBe(true);
      if (t === T.decimal) expect(result).toBe(String(value));
    }), { numRuns: 5_000, seed: part });
  });
});
