import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Value } from '../../src/capture';
import type { ConverterSpec } from '../../src/config/spec';
import { ConfigError, ConversionError } from '../../src/errors';
import { compareDecimal, compileConverters, normalizeDecimal } from '../../src/transform';
import { formatDecimal } from '../../src/transform/decimal';

const one = (spec: ConverterSpec) => compileConverters([spec]);
const decimalText = fc
  .record({ unscaled: fc.bigInt(-(10n ** 24n), 10n ** 24n), scale: fc.integer({ min: 0, max: 9 }) })
  .map(formatDecimal);

describe('text converters', () => {
  it('convert forward and leave backward alone', () => {
    expect(one('trim').forward('  Acme ')).toBe('Acme');
    expect(one('trim').backward('Acme')).toBe('Acme');
    expect(one('upper').forward('de')).toBe('DE');
    expect(one('upper').backward('DE')).toBe('DE');
    expect(one('lower').forward('A@B.COM')).toBe('a@b.com');
    expect(one('lower').backward('a@b.com')).toBe('a@b.com');
    expect(one('empty-to-null').forward('')).toBeNull();
    expect(one('empty-to-null').forward(' ')).toBe(' ');
    expect(one('empty-to-null').forward(0)).toBe(0);
    expect(one('empty-to-null').backward(null)).toBeNull();
  });

  it('refuse values that are not text, naming them', () => {
    expect(() => one('trim').forward(42)).toThrow(ConversionError);
    expect(() => one('upper').forward(true)).toThrow(/true/);
  });
});

describe('null', () => {
  const specs: ConverterSpec[] = ['trim', 'upper', 'lower', 'empty-to-null', { decimal: { scale: 2 } }, { enum: { A: 'active' } }, { factor: 12 }, { timezone: 'Europe/Berlin' }];
  it('passes every converter unchanged, both ways', () => {
    for (const spec of specs) {
      expect(one(spec).forward(null)).toBeNull();
      expect(one(spec).backward(null)).toBeNull();
    }
    expect(compileConverters(specs.slice(0, 5)).forward(null)).toBeNull();
  });
});

describe('chains', () => {
  it('run left to right forward and right to left backward', () => {
    const chain = compileConverters(['trim', 'lower', { enum: { a: 'ACTIVE', i: 'INACTIVE' } }]);
    expect(chain.forward(' A ')).toBe('ACTIVE');
    expect(chain.backward('INACTIVE')).toBe('i');
    expect(compileConverters(['trim', 'empty-to-null']).forward('   ')).toBeNull();
    expect(compileConverters([]).forward('x')).toBe('x');
  });

  it('stop at null: empty-to-null before a decimal', () => {
    expect(compileConverters(['empty-to-null', { decimal: { scale: 2 } }]).forward('')).toBeNull();
  });
});

describe('decimal', () => {
  const scale2 = one({ decimal: { scale: 2 } });
  it('rescales exactly, rounding half away from zero', () => {
    expect(scale2.forward('12.345')).toBe('12.35');
    expect(scale2.forward('-12.345')).toBe('-12.35');
    expect(scale2.forward(12)).toBe('12.00');
    expect(scale2.forward('12.3')).toBe('12.30');
    expect(scale2.forward(0.1)).toBe('0.10');
    expect(one({ decimal: { scale: 0 } }).forward('99.5')).toBe('100');
    expect(scale2.backward('12.35')).toBe('12.35');
  });

  it('names a malformed value', () => {
    expect(() => scale2.forward('12.3abc')).toThrow(ConversionError);
    expect(() => scale2.forward('12.3abc')).toThrow(/"12\.3abc"/);
    expect(() => scale2.forward(true)).toThrow(/true/);
  });

  it('does not change the value when the scale holds every digit', () => {
    fc.assert(fc.property(decimalText, (t) => compareDecimal(one({ decimal: { scale: 9 } }).forward(t) as string, t) === 0));
  });
});

describe('enum', () => {
  const status = one({ enum: { A: 'active', I: 'inactive', '1': 'blocked' } });
  it('maps forward and inverts backward', () => {
    expect(status.forward('A')).toBe('active');
    expect(status.backward('inactive')).toBe('I');
    expect(status.forward(1)).toBe('blocked');
  });

  it('names an unmapped value and the known ones', () => {
    expect(() => status.forward('X')).toThrow(ConversionError);
    expect(() => status.forward('X')).toThrow('enum: "X" is not a known source value (known: "1", "A", "I")');
    expect(() => status.backward('gone')).toThrow(/"gone".*"active"/);
  });

  it('must be invertible', () => {
    expect(() => one({ enum: { A: 'active', Y: 'active' } })).toThrow(ConfigError);
    expect(() => one({ enum: { A: 'active', Y: 'active' } })).toThrow(/"A" and "Y"/);
  });

  it('backward ∘ forward is the identity', () => {
    const map = fc.uniqueArray(fc.tuple(fc.string(), fc.string()), { selector: ([, c]) => c, minLength: 1, maxLength: 20 })
      .map((pairs) => Object.fromEntries(pairs.filter(([s], i, all) => all.findIndex(([t]) => t === s) === i)))
      .filter((m) => Object.keys(m).length > 0);
    fc.assert(fc.property(map, fc.nat(), (m, pick) => {
      const keys = Object.keys(m);
      const source = keys[pick % keys.length] as string;
      const c = one({ enum: m });
      return c.backward(c.forward(source)) === source;
    }));
  });
});

describe('factor', () => {
  const dozen = one({ factor: 12 });
  it('multiplies exactly, keeping the product scale', () => {
    expect(dozen.forward('1.5')).toBe('18.0');
    expect(dozen.forward(2)).toBe('24');
    expect(dozen.forward(0.1)).toBe('1.2');
    expect(one({ factor: '0.001' }).forward(1500)).toBe('1.500');
    expect(one({ factor: '2.54' }).forward('-10')).toBe('-25.40');
  });

  it('divides backward: exact at the smallest scale when possible, else rounded to max(scales) + 6', () => {
    expect(dozen.backward('18.0')).toBe('1.5');
    expect(dozen.backward(18)).toBe('1.5');
    expect(dozen.backward('1')).toBe('0.083333');
    expect(dozen.backward('1.00')).toBe('0.08333333');
    expect(one({ factor: '0.001' }).backward('1.5')).toBe('1500');
    expect(one({ factor: 3 }).backward('-2')).toBe('-0.666667');
  });

  it('checks the factor when compiled', () => {
    expect(() => one({ factor: 0 })).toThrow(ConfigError);
    expect(() => one({ factor: '0.000' })).toThrow(ConfigError);
    expect(() => one({ factor: 'a dozen' })).toThrow(/"a dozen"/);
  });

  it('names a malformed value', () => {
    expect(() => dozen.forward('twelve')).toThrow(/"twelve"/);
    expect(() => dozen.backward({ n: 1 } as Value)).toThrow(ConversionError);
  });

  it('forward then backward returns the original value', () => {
    const factor = decimalText.filter((t) => normalizeDecimal(t) !== '0');
    fc.assert(fc.property(decimalText, factor, (value, f) => {
      const c = one({ factor: f });
      return compareDecimal(c.backward(c.forward(value)) as string, value) === 0;
    }));
  });

  it('minimal-form values come back as the same text', () => {
    fc.assert(fc.property(decimalText.map(normalizeDecimal), fc.constantFrom(12, '0.001', '2.54', -4, '1000'), (value, f) => {
      const c = one({ factor: f });
      return c.backward(c.forward(value)) === value;
    }));
  });
});

describe('timezone', () => {
  it('refuses an unknown zone when compiled', () => {
    expect(() => one({ timezone: 'Mars/Olympus_Mons' })).toThrow(ConfigError);
  });
});
