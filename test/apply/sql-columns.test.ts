import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromColumnValues, toColumnValue, toColumnValues, ValueNotHeld, type TargetColumn } from '../../src/apply/sql-columns';

const col = (dataType: string, extra: Partial<TargetColumn> = {}): TargetColumn => ({ dataType, udt: dataType, precision: null, scale: null, ...extra });

describe('canonical values → target column values', () => {
  it('writes canonical base64 as bytes into bytea and blob columns, any bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const b64 = Buffer.from(bytes).toString('base64');
      expect(toColumnValue('postgres', col('bytea'), b64)).toEqual(Buffer.from(bytes));
      expect(toColumnValue('mysql', col('longblob'), b64)).toEqual(Buffer.from(bytes));
      expect(toColumnValue('mysql', col('varbinary'), b64)).toEqual(Buffer.from(bytes));
    }));
  });

  it('refuses bytes that are not padded base64 instead of storing their text', () => {
    expect(() => toColumnValue('postgres', col('bytea'), '3q2+7w')).toThrow(ValueNotHeld);
    expect(() => toColumnValue('mysql', col('blob'), 'not base64!')).toThrow(ValueNotHeld);
  });

  it('writes bit strings into MariaDB BIT(n) as big-endian bytes, refuses too many bits', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 64 }).chain((n) => fc.tuple(fc.constant(n), fc.bigInt({ min: 0n, max: 2n ** BigInt(n) - 1n }))), ([n, v]) => {
      const bits = v.toString(2).padStart(n, '0');
      const out = toColumnValue('mysql', col('bit', { precision: n }), bits) as Buffer;
      expect(out.length).toBe(Math.max(1, Math.ceil(n / 8)));
      expect(BigInt(`0x${out.toString('hex')}`)).toBe(v);
    }));
    expect(() => toColumnValue('mysql', col('bit', { precision: 3 }), '1000')).toThrow(ValueNotHeld);
    expect(toColumnValue('mysql', col('bit', { precision: 1 }), true)).toEqual(Buffer.from([1]));
    expect(toColumnValue('postgres', col('bit'), false)).toBe('0');
  });

  it('sends JSON text as it is and other JSON values stringified', () => {
    const big = '{"n": 12345678901234567890123}';
    expect(toColumnValue('postgres', col('jsonb'), big)).toBe(big);
    expect(toColumnValue('mysql', col('json'), '"a string"')).toBe('"a string"');
    expect(toColumnValue('postgres', col('json'), { a: [1, null] })).toBe('{"a":[1,null]}');
    expect(toColumnValue('mysql', col('json'), [1, 'NULL'])).toBe('[1,"NULL"]');
  });

  it('refuses what MariaDB cannot hold and converts -0 and float32 as documented', () => {
    for (const v of ['NaN', 'Infinity', '-Infinity']) expect(() => toColumnValue('mysql', col('double'), v)).toThrow(ValueNotHeld);
    expect(toColumnValue('mysql', col('double'), '-0')).toBe(0);
    expect(toColumnValue('mysql', col('float'), 3.4028235e38)).toBe(Math.fround(3.4028235e38));
    for (const v of ['infinity', '-infinity', '0044-03-15 BC']) expect(() => toColumnValue('mysql', col('date'), v)).toThrow(ValueNotHeld);
    expect(() => toColumnValue('mysql', col('decimal', { precision: 65, scale: 30 }), `0.${'0'.repeat(30)}1`)).toThrow(ValueNotHeld);
    expect(toColumnValue('mysql', col('decimal', { precision: 65, scale: 30 }), '123.4500')).toBe('123.4500');
    expect(() => toColumnValues('mysql', new Map([['f', col('double')]]), { f: 'NaN' })).toThrow(/column f/);
  });

  it('passes PostgreSQL values its input functions take as they are', () => {
    for (const v of ['NaN', '-0', 'infinity', 'P-1Y-2M', '-838:59:59']) {
      expect(toColumnValue('postgres', col('double precision'), v)).toBe(v);
      expect(toColumnValue('postgres', col('interval'), v)).toBe(v);
    }
    expect(toColumnValue('postgres', col('array', { udt: '_bytea' }), ['AAE=', null])).toEqual(['\\x0001', null]);
  });
});

describe('target column values → canonical values', () => {
  it('reads MariaDB BIT(n) bytes back as the bit string they were written from', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 64 }).chain((n) => fc.tuple(fc.constant(n), fc.bigInt({ min: 0n, max: 2n ** BigInt(n) - 1n }))), ([n, v]) => {
      const bits = v.toString(2).padStart(n, '0');
      const column = col('bit', { precision: n });
      const written = toColumnValue('mysql', column, bits);
      expect(fromColumnValues('mysql', new Map([['b', column]]), { b: written, other: Buffer.from('x') })).toEqual({ b: bits, other: Buffer.from('x') });
    }));
  });
});
