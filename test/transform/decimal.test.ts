import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConversionError } from '../../src/errors';
import {
  compareDecimal, divide, divideDecimal, divideExact, formatDecimal, multiply, multiplyDecimal,
  normalizeDecimal, parseDecimal, rescaleDecimal, type Decimal,
} from '../../src/transform/decimal';

const decimal = fc.record({ unscaled: fc.bigInt(-(10n ** 30n), 10n ** 30n), scale: fc.integer({ min: 0, max: 12 }) });
const nonZero = decimal.filter((d) => d.unscaled !== 0n);
const text = decimal.map(formatDecimal);

describe('parseDecimal / formatDecimal', () => {
  it('reads the usual spellings', () => {
    expect(formatDecimal(parseDecimal('12.50'))).toBe('12.50');
    expect(formatDecimal(parseDecimal('-0.001'))).toBe('-0.001');
    expect(formatDecimal(parseDecimal('.5'))).toBe('0.5');
    expect(formatDecimal(parseDecimal('5.'))).toBe('5');
    expect(formatDecimal(parseDecimal('+7'))).toBe('7');
    expect(formatDecimal(parseDecimal('1e-7'))).toBe('0.0000001');
    expect(formatDecimal(parseDecimal('1.5E3'))).toBe('1500');
    expect(formatDecimal(parseDecimal(1e21))).toBe('1000000000000000000000');
    expect(formatDecimal(parseDecimal(0.1))).toBe('0.1');
    expect(formatDecimal(parseDecimal(-0))).toBe('0');
    expect(formatDecimal(parseDecimal('-0.00'))).toBe('0.00');
  });

  it('refuses what is not a decimal, naming the value', () => {
    for (const bad of ['abc', '', '.', '-', '1.2.3', ' 1', '1,5', 'NaN', 'Infinity', '0x10', '1e99999']) {
      expect(() => parseDecimal(bad)).toThrow(ConversionError);
    }
    expect(() => parseDecimal('12a')).toThrow(/"12a"/);
    expect(() => parseDecimal(Number.NaN)).toThrow(/NaN/);
  });

  it('format ∘ parse is the identity on formatted decimals', () => {
    fc.assert(fc.property(text, (t) => formatDecimal(parseDecimal(t)) === t));
  });

  it('numbers keep the value of their shortest text', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => Number(normalizeDecimal(n)) === n));
  });
});

describe('rescaleDecimal', () => {
  it('rounds half away from zero, only when digits are dropped', () => {
    expect(rescaleDecimal('12.345', 2)).toBe('12.35');
    expect(rescaleDecimal('-12.345', 2)).toBe('-12.35');
    expect(rescaleDecimal('12.344', 2)).toBe('12.34');
    expect(rescaleDecimal('0.005', 2)).toBe('0.01');
    expect(rescaleDecimal('-0.004', 2)).toBe('0.00');
    expect(rescaleDecimal(12, 2)).toBe('12.00');
    expect(rescaleDecimal('2.5', 0)).toBe('3');
    expect(rescaleDecimal('-2.5', 0)).toBe('-3');
  });

  it('never changes the value when the scale does not shrink', () => {
    fc.assert(fc.property(decimal, fc.integer({ min: 0, max: 10 }), (d, extra) => {
      const out = rescaleDecimal(formatDecimal(d), d.scale + extra);
      return compareDecimal(out, formatDecimal(d)) === 0 && parseDecimal(out).scale === d.scale + extra;
    }));
  });

  it('stays within half a unit of the last place, symmetric in sign', () => {
    fc.assert(fc.property(decimal, fc.integer({ min: 0, max: 12 }), (d, scale) => {
      const out = parseDecimal(rescaleDecimal(formatDecimal(d), scale));
      const common = Math.max(scale, d.scale);
      const diff = out.unscaled * 10n ** BigInt(common - scale) - d.unscaled * 10n ** BigInt(common - d.scale);
      const halfUlp = 10n ** BigInt(common - scale);
      const mirrored = rescaleDecimal(formatDecimal({ unscaled: -d.unscaled, scale: d.scale }), scale);
      return 2n * (diff < 0n ? -diff : diff) <= halfUlp && compareDecimal(mirrored, formatDecimal({ unscaled: -out.unscaled, scale })) === 0;
    }));
  });
});

describe('multiply / divide', () => {
  it('multiplies exactly', () => {
    expect(multiplyDecimal('1.5', '12')).toBe('18.0');
    expect(multiplyDecimal('0.1', '0.2')).toBe('0.02');
    expect(multiplyDecimal(-3, '0.001')).toBe('-0.003');
  });

  it('divides to a given scale, rounding half away from zero', () => {
    expect(divideDecimal('1', '3', 6)).toBe('0.333333');
    expect(divideDecimal('2', '3', 2)).toBe('0.67');
    expect(divideDecimal('-2', '3', 2)).toBe('-0.67');
    expect(divideDecimal('1', '-8', 2)).toBe('-0.13');
    expect(() => divideDecimal('1', '0.00', 2)).toThrow(ConversionError);
  });

  it('divideExact finds terminating quotients at their smallest scale, null otherwise', () => {
    const exact = (a: string, b: string): string | null => {
      const q = divideExact(parseDecimal(a), parseDecimal(b));
      return q && formatDecimal(q);
    };
    expect(exact('18.0', '12')).toBe('1.5');
    expect(exact('1', '8')).toBe('0.125');
    expect(exact('1', '3')).toBeNull();
    expect(exact('0', '7')).toBe('0');
    expect(exact('-1', '0.0625')).toBe('-16');
  });

  it('(a × b) ÷ b = a exactly', () => {
    fc.assert(fc.property(decimal, nonZero, (a: Decimal, b: Decimal) => {
      const q = divideExact(multiply(a, b), b);
      return q !== null && compareDecimal(formatDecimal(q), formatDecimal(a)) === 0;
    }));
  });

  it('a rounded quotient is within half a unit of the last place', () => {
    fc.assert(fc.property(decimal, nonZero, fc.integer({ min: 0, max: 12 }), (a, b, scale) => {
      const q = divide(a, b, scale);
      const err = q.unscaled * b.unscaled * 10n ** BigInt(a.scale) - a.unscaled * 10n ** BigInt(b.scale + scale);
      const bound = (b.unscaled < 0n ? -b.unscaled : b.unscaled) * 10n ** BigInt(a.scale);
      return 2n * (err < 0n ? -err : err) <= bound;
    }));
  });
});

describe('compareDecimal / normalizeDecimal', () => {
  it('compares by value', () => {
    expect(compareDecimal('1.50', '1.5')).toBe(0);
    expect(compareDecimal('-1', '0.5')).toBe(-1);
    expect(compareDecimal(2, '1.999')).toBe(1);
    expect(normalizeDecimal('001.500')).toBe('1.5');
    expect(normalizeDecimal('-0.000')).toBe('0');
    expect(normalizeDecimal('100')).toBe('100');
  });

  it('equal by value ⇔ equal normal forms; antisymmetric', () => {
    fc.assert(fc.property(text, text, (a, b) => {
      const c = compareDecimal(a, b);
      return (c === 0) === (normalizeDecimal(a) === normalizeDecimal(b)) && compareDecimal(b, a) === -c;
    }));
  });

  it('padding with zeros does not change the normal form', () => {
    fc.assert(fc.property(decimal, fc.integer({ min: 0, max: 5 }), (d, extra) =>
      normalizeDecimal(rescaleDecimal(formatDecimal(d), d.scale + extra)) === normalizeDecimal(formatDecimal(d))));
  });
});
