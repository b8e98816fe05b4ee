/**
 * SQL Server change rows, property-tested (issue 12): values of every
 * common type, as the mssql driver (tedious) returns them, decode through
 * changeRowsOf/eventsOf to their canonical form; any other driver value gives
 * only a DecodeError naming the table, never a wrong value. About 100,000
 * generated inputs in total.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Row, Value } from '../../../src/capture';
import { changeRowsOf, eventsOf } from '../../../src/capture/sqlserver/change-rows';
import type { CaptureInstance } from '../../../src/capture/sqlserver/metadata';
import { DecodeError } from '../../../src/errors';
import { decimalCase, floatCase } from './arbitraries';

interface Column { type: string; raw: unknown; expected: Value }

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A Date as tedious builds it: milliseconds in the Date, the rest of the 100 ns units in nanosecondsDelta (seconds). */
function tediousDate(ms: number, units: number): Date {
  const d = new Date(ms);
  Object.defineProperty(d, 'nanosecondsDelta', { value: units / 1e7, enumerable: false });
  return d;
}

const fraction7 = (ms: number, units: number) => `${pad(ms, 3)}${pad(units, 4)}`.replace(/0+$/, '');

const instant = fc.tuple(fc.integer({ min: -62135596800000, max: 253402300799999 }), fc.integer({ min: 0, max: 9999 }));

const column: fc.Arbitrary<Column> = fc.oneof(
  fc.integer().map((n) => ({ type: 'int', raw: n, expected: n })),
  fc.integer({ min: 0, max: 255 }).map((n) => ({ type: 'tinyint', raw: n, expected: n })),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map((n) => ({ type: 'bigint', raw: String(n), expected: String(n) })),
  floatCase.filter(({ n }) => Number.isFinite(n)).map(({ n, canonical }) => ({ type: 'float', raw: n, expected: canonical })),
  fc.float({ noNaN: true, noDefaultInfinity: true }).filter((f) => !Object.is(f, -0)).map((f) => {
    let expected = f;
    for (let p = 1; p <= 9; p++) if (Math.fround(Number(f.toPrecision(p))) === f) { expected = Number(f.toPrecision(p)); break; }
    return { type: 'real', raw: f, expected };
  }),
  fc.boolean().map((b) => ({ type: 'bit', raw: b, expected: b })),
  decimalCase.map(({ text }) => ({ type: 'decimal', raw: text, expected: text })),
  fc.uuid().map((u) => ({ type: 'uniqueidentifier', raw: u.toUpperCase(), expected: u.toLowerCase() })),
  fc.integer({ min: -719162, max: 2932896 }).map((days) => {
    const d = new Date(days * 86_400_000);
    return { type: 'date', raw: d, expected: d.toISOString().slice(0, 10) };
  }),
  fc.tuple(fc.integer({ min: 0, max: 86_399_999 }), fc.integer({ min: 0, max: 9999 })).map(([ms, units]) => {
    const f = fraction7(ms % 1000, units);
    const iso = new Date(ms).toISOString();
    return { type: 'time', raw: tediousDate(ms, units), expected: `${iso.slice(11, 19)}${f ? `.${f}` : ''}` };
  }),
  instant.map(([ms, units]) => {
    const f = fraction7(((ms % 1000) + 1000) % 1000, units);
    const iso = new Date(ms).toISOString();
    return { type: 'datetime2', raw: tediousDate(ms, units), expected: `${iso.slice(0, 19)}${f ? `.${f}` : ''}` };
  }),
  instant.map(([ms, units]) => {
    const f = fraction7(((ms % 1000) + 1000) % 1000, units);
    const iso = new Date(ms).toISOString();
    return { type: 'datetimeoffset', raw: tediousDate(ms, units), expected: `${iso.slice(0, 19)}${f ? `.${f}` : ''}Z` };
  }),
  fc.uint8Array({ maxLength: 40 }).map((b) => ({ type: 'varbinary', raw: Buffer.from(b), expected: Buffer.from(b).toString('base64') })),
  fc.string({ unit: 'grapheme' }).map((s) => ({ type: 'nvarchar', raw: s, expected: s })),
  fc.constant({ type: 'int', raw: null, expected: null }),
);

const lsn = Buffer.alloc(10, 1);

function decodeRow(columns: Column[]): Row {
  const instance: CaptureInstance = { name: 'dbo_t', schema: 'dbo', table: 't', qualified: 'dbo.t', columns: [], keyColumns: ['id'], startLsn: '0'.repeat(20) };
  const meta = [{ name: '__$start_lsn', type: 'binary' }, { name: '__$seqval', type: 'binary' }, { name: '__$operation', type: 'int' }, { name: 'id', type: 'int' }, ...columns.map((c, i) => ({ name: `c${i}`, type: c.type }))];
  const raw: Record<string, unknown> = { '__$start_lsn': lsn, '__$seqval': lsn, '__$operation': 2, id: 1 };
  columns.forEach((c, i) => (raw[`c${i}`] = c.raw));
  const [event] = eventsOf(changeRowsOf(instance, { columns: meta, rows: [raw] }), { system: 'erp', database: 'db', nowMs: 0 });
  if (!event?.after) throw new Error('no event');
  return event.after;
}

// Synchronous property runs keep the worker's event loop busy: let vitest's RPC through between tests.
afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));

describe('SQL Server change rows (property)', () => {
  it.each([1, 2, 3, 4, 5, 6])('decodes every generated driver value to its canonical form (part %i)', (part) => {
    fc.assert(fc.property(fc.array(column, { minLength: 1, maxLength: 6 }), (columns) => {
      const row = decodeRow(columns);
      columns.forEach((c, i) => expect(row[`c${i}`]).toEqual(c.expected));
    }), { numRuns: 2_000, seed: part }); // about 7,000 values per part
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])('any other driver value gives a DecodeError naming the table, or the right value (part %i)', (part) => {
    const type = fc.constantFrom('int', 'bigint', 'float', 'real', 'bit', 'decimal', 'money', 'uniqueidentifier', 'date', 'time', 'datetime2', 'datetimeoffset', 'varbinary');
    const raw = fc.oneof(fc.anything({ maxDepth: 1 }), fc.date(), fc.uint8Array({ maxLength: 5 }).map((b) => Buffer.from(b)), fc.double());
    fc.assert(fc.property(type, raw, (t, value) => {
      let result: Value;
      try {
        result = decodeRow([{ type: t, raw: value, expected: null }]).c0 ?? null;
      } catch (error) {
        expect(error).toBeInstanceOf(DecodeError);
        expect((error as DecodeError).context).toMatchObject({ table: 'dbo.t' });
        return;
      }
      if (value === null || value === undefined) return;
      // Accepted: only the driver's own form for that type, converted exactly.
      if (t === 'int') expect(result).toBe(value);
      if (t === 'bit') expect(typeof value).toBe('boolean');
      if (t === 'decimal' || t === 'money') expect(result).toBe(value);
      if (t === 'varbinary') expect(Buffer.isBuffer(value) && result === value.toString('base64')).toBe(true);
      if (['date', 'time', 'datetime2', 'datetimeoffset'].includes(t)) expect(value).toBeInstanceOf(Date);
    }), { numRuns: 5_000, seed: part });
  });
});
