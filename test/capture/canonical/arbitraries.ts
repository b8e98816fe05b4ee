/**
 * Generators shared by the decoder property tests: values in their canonical
 * form (see README, type table) together with what each source would send
 * for them. Expected values are computed here independently of the decoders.
 */
import fc from 'fast-check';

/** JSON text whose numbers include ones a double cannot hold, with the canonical value independently computed. */
export interface JsonCase {
  text: string;
  /** Parsed value, or the text itself when a number would be rounded or the top level is a string or null. */
  expected: unknown;
}

const exactNumber = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)).map((n) => String(n)).map(Number));
/** Big or long numbers: 23-digit integers, 34-digit fractions. */
const inexactNumberText = fc.oneof(
  fc.bigInt({ min: 10n ** 20n, max: 10n ** 25n }).map((n) => `${n}3`),
  fc.bigInt({ min: 10n ** 30n, max: 10n ** 34n }).map((n) => `0.${n}7`),
  fc.constantFrom('12345678901234567890123', '0.1000000000000000055511151231257827', '-0', '1e400'),
);

type Tree = { kind: 'exact'; n: number } | { kind: 'inexact'; t: string } | { kind: 'str'; s: string } | { kind: 'lit'; v: boolean | null } | { kind: 'arr'; items: Tree[] } | { kind: 'obj'; entries: Array<[string, Tree]> };

const tree: fc.Arbitrary<Tree> = fc.letrec<{ t: Tree }>((tie) => ({
  t: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    exactNumber.map((n) => ({ kind: 'exact' as const, n })),
    inexactNumberText.map((t) => ({ kind: 'inexact' as const, t })),
    fc.string().map((s) => ({ kind: 'str' as const, s })),
    fc.constantFrom(true, false, null).map((v) => ({ kind: 'lit' as const, v })),
    fc.array(tie('t'), { maxLength: 4 }).map((items) => ({ kind: 'arr' as const, items })),
    fc.uniqueArray(fc.tuple(fc.string({ maxLength: 6 }), tie('t')), { maxLength: 4, selector: (e) => e[0] }).map((entries) => ({ kind: 'obj' as const, entries })),
  ),
})).t;

function textOf(t: Tree): string {
  switch (t.kind) {
    case 'exact': return JSON.stringify(t.n);
    case 'inexact': return t.t;
    case 'str': return JSON.stringify(t.s);
    case 'lit': return JSON.stringify(t.v);
    case 'arr': return `[${t.items.map(textOf).join(',')}]`;
    case 'obj': return `{${t.entries.map(([k, v]) => `${JSON.stringify(k)}:${textOf(v)}`).join(',')}}`;
  }
}
function hasInexact(t: Tree): boolean {
  if (t.kind === 'inexact') return true;
  if (t.kind === 'arr') return t.items.some(hasInexact);
  if (t.kind === 'obj') return t.entries.some(([, v]) => hasInexact(v));
  return false;
}

export const jsonCase: fc.Arbitrary<JsonCase> = tree.map((t) => {
  const text = textOf(t);
  const asText = hasInexact(t) || t.kind === 'str' || (t.kind === 'lit' && t.v === null);
  return { text, expected: asText ? text : JSON.parse(text) };
});

/** Canonical time '[-]HH:MM:SS[.f]' up to MySQL's ±838:59:59.999999, with its microsecond count. */
export const mysqlTime = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 838 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 999_999 }))
  .map(([negative, h, m, s, us]) => {
    const fraction = us === 0 ? '' : `.${String(us).padStart(6, '0').replace(/0+$/, '')}`;
    const zero = h === 0 && m === 0 && s === 0 && us === 0;
    const sign = negative && !zero ? '-' : '';
    const text = `${sign}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}${fraction}`;
    const micros = BigInt(((h * 60 + m) * 60 + s)) * 1_000_000n + BigInt(us);
    return { text, micros: sign ? -micros : micros, us };
  });

/** A bit string of 1..64 digits. */
export const bitString = fc.integer({ min: 1, max: 64 }).chain((n) => fc.array(fc.constantFrom('0', '1'), { minLength: n, maxLength: n }).map((a) => a.join('')));

/** Floats including the special values, with their canonical form. */
export const floatCase = fc.oneof(
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, Number.MIN_VALUE, Number.MAX_VALUE),
).map((n) => ({ n, canonical: Number.isNaN(n) ? 'NaN' : n === Infinity ? 'Infinity' : n === -Infinity ? '-Infinity' : Object.is(n, -0) ? '-0' : n }));

/** Decimal text with up to 40 digits and scale 0..20, as a database prints it. */
export const decimalCase = fc.tuple(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), fc.integer({ min: 0, max: 20 })).map(([unscaled, scale]) => {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return { unscaled, scale, text: negative ? `-${text}` : text };
});

/** Two's-complement big-endian, minimal length (Java BigInteger#toByteArray), written independently of src. */
export function javaBigIntegerBytes(n: bigint): Buffer {
  let hex = (n < 0n ? (1n << BigInt(8 * (byteLength(n)))) + n : n).toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex.padStart(byteLength(n) * 2, n < 0n ? 'f' : '0'), 'hex');
}
function byteLength(n: bigint): number {
  // bits needed including the sign bit
  const bits = (n < 0n ? -n - 1n : n).toString(2).length + 1;
  return Math.ceil(bits / 8);
}
