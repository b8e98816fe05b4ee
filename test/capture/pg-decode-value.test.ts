import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatArrayLiteral, parseArrayLiteral, type ArrayItem } from '../../src/capture/postgres/array-literal';
import { decodeValue, OID } from '../../src/capture/postgres/decode-value';
import { decodeTimestamp, decodeTimestamptz } from '../../src/capture/postgres/pg-time';

describe('decodeValue', () => {
  it.each([
    ['32767', OID.int2, 32767],
    ['-2147483648', OID.int4, -2147483648],
    ['4294967295', OID.oid, 4294967295],
    ['9223372036854775807', OID.int8, '9223372036854775807'],
    ['12345678901234.5678', OID.numeric, '12345678901234.5678'],
    ['NaN', OID.numeric, 'NaN'],
    ['1.1', OID.float8, 1.1],
    ['NaN', OID.float4, 'NaN'],
    ['-Infinity', OID.float8, '-Infinity'],
    ['t', OID.bool, true],
    ['f', OID.bool, false],
    ['abc ', OID.bpchar, 'abc '],
    ['2024-02-29', OID.date, '2024-02-29'],
    ['13:14:15.000123', OID.time, '13:14:15.000123'],
    ['13:14:15+05:30', OID.timetz, '13:14:15+05:30'],
    ['2024-03-05 10:11:12.5', OID.timestamp, '2024-03-05T10:11:12.5'],
    ['infinity', OID.timestamp, 'infinity'],
    ['2024-03-05 10:11:12.123456+02', OID.timestamptz, '2024-03-05T08:11:12.123456Z'],
    ['2024-01-01 00:30:00-05:30', OID.timestamptz, '2024-01-01T06:00:00Z'],
    ['1850-01-01 00:00:00+00:53:28', OID.timestamptz, '1849-12-31T23:06:32Z'],
    ['{"a":[1,null]}', OID.jsonb, { a: [1, null] }],
    ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', OID.uuid, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
    ['\\x00ff10', OID.bytea, 'AP8Q'],
    ['\\x', OID.bytea, ''],
    ['{1,NULL,3}', 1007, [1, null, 3]],
    ['{{1,2},{3,4}}', 1007, [[1, 2], [3, 4]]],
    ['[0:1]={7,8}', 1007, [7, 8]],
    ['{"a \\"q\\"",NULL,"NULL","b,c"}', 1009, ['a "q"', null, 'NULL', 'b,c']],
    ['{}', 1009, []],
    ['{t,f}', 1000, [true, false]],
    ['{"\\\\x0a"}', 1001, ['Cg==']],
    ['{"2024-01-01 00:00:00+00"}', 1185, ['2024-01-01T00:00:00Z']],
    ['{12.50,NaN}', 1231, ['12.50', 'NaN']],
    ['(1,2)', 600, '(1,2)'],
  ])('%s as type %i', (text, oid, expected) => {
    expect(decodeValue(text, oid)).toEqual(expected);
  });

  it('keeps numeric text exact', () => {
    const numeric = fc.tuple(fc.bigInt(), fc.nat(20)).map(([n, scale]) => {
      const digits = (n < 0n ? -n : n).toString().padStart(scale + 1, '0');
      const body = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
      return n < 0n ? `-${body}` : body;
    });
    fc.assert(fc.property(numeric, (text) => decodeValue(text, OID.numeric) === text && decodeValue(text, OID.int8) === text));
  });

  it('round-trips float8 text exactly', () => {
    // extra_float_digits=3 makes the server send shortest round-trip text, like JS String().
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => decodeValue(String(x), OID.float8) === x));
  });

  it('decodes bytea hex to the same bytes', () => {
    fc.assert(fc.property(fc.uint8Array(), (bytes) => {
      const b64 = decodeValue(`\\x${Buffer.from(bytes).toString('hex')}`, OID.bytea) as string;
      return Buffer.from(b64, 'base64').equals(Buffer.from(bytes));
    }));
  });
});

describe('array literals', () => {
  const text = fc.string({ unit: 'grapheme', maxLength: 8 });
  const item: fc.Arbitrary<ArrayItem> = fc.oneof(text, fc.constant(null));
  // Sub-arrays of a PostgreSQL array are rectangular; one nesting level of equal length is enough here.
  const nested = fc.nat(3).chain((n) => fc.array(fc.array(item, { minLength: n, maxLength: n }), { minLength: 1, maxLength: 3 }));

  it('parse(format(x)) = x for flat arrays', () => {
    fc.assert(fc.property(fc.array(item), (items) => {
      expect(parseArrayLiteral(formatArrayLiteral(items))).toEqual(items);
    }));
  });

  it('parse(format(x)) = x for nested arrays', () => {
    fc.assert(fc.property(nested, (items) => {
      expect(parseArrayLiteral(formatArrayLiteral(items))).toEqual(items);
    }));
  });

  it('rejects broken literals', () => {
    for (const bad of ['', '{', '{"a}', '{a,}', '{a}x', 'abc']) expect(() => parseArrayLiteral(bad)).toThrow();
  });
});

describe('timestamps', () => {
  const instant = fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-30T00:00:00Z'), noInvalidDate: true })
    .map((d) => Math.floor(d.getTime() / 1000) * 1000);
  const offsetSeconds = fc.integer({ min: -15 * 3600, max: 15 * 3600 });
  const micros = fc.option(fc.integer({ min: 1, max: 999_999 }), { nil: undefined });

  it('normalises any offset of the same instant to the same UTC text', () => {
    fc.assert(fc.property(instant, offsetSeconds, micros, (ms, offset, us) => {
      const frac = us === undefined ? '' : `.${String(us).padStart(6, '0')}`;
      const utc = decodeTimestamptz(`${pgText(ms)}${frac}+00`);
      const shifted = decodeTimestamptz(`${pgText(ms + offset * 1000)}${frac}${offsetText(offset)}`);
      expect(shifted).toBe(utc);
      expect(utc).toBe(`${new Date(ms).toISOString().slice(0, 19)}${frac}Z`);
    }));
  });

  it('turns timestamp text into ISO local text', () => {
    expect(decodeTimestamp('0044-03-15 10:00:00')).toBe('0044-03-15T10:00:00');
    // BC keeps PostgreSQL's suffix (and the T of every other timestamp); PostgreSQL reads it back.
    expect(decodeTimestamp('0044-03-15 10:00:00 BC')).toBe('0044-03-15T10:00:00 BC');
    expect(decodeTimestamptz('0044-03-15 10:00:00.5+01 BC')).toBe('0044-03-15T09:00:00.5Z BC');
    expect(decodeTimestamptz('0001-01-01 00:30:00+01')).toBe('0001-12-31T23:30:00Z BC');
  });
});

function pgText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

function offsetText(seconds: number): string {
  const sign = seconds < 0 ? '-' : '+';
  const abs = Math.abs(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(abs / 3600);
  const m = Math.floor((abs % 3600) / 60);
  const s = abs % 60;
  return `${sign}${pad(h)}${m || s ? `:${pad(m)}` : ''}${s ? `:${pad(s)}` : ''}`;
}
