import { ConversionError } from '../errors';

/**
 * Exact decimal arithmetic on strings, via BigInt. Money and quantities must
 * never pass through binary floating point: 0.1 + 0.2 is not 0.3 there, and a
 * price that drifts by one cent between ERP and CRM is a false conflict.
 */

/** value = unscaled × 10^-scale; scale ≥ 0. */
export interface Decimal {
  unscaled: bigint;
  scale: number;
}

/** Larger scales or exponents are refused: they are typos, and BigInt 10^n would be costly. */
const MAX_SCALE = 1000;

const DECIMAL_TEXT = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Parses a decimal string ('12.5', '-0.001', '.5', '1e-7') or a JS number. A
 * number is read through its shortest round-trip text (String(0.1) is '0.1'),
 * which is the value the number stands for, not its binary expansion.
 */
export function parseDecimal(input: string | number): Decimal {
  if (typeof input === 'number' && !Number.isFinite(input)) throw notDecimal(input);
  const text = typeof input === 'number' ? String(input) : input;
  const match = DECIMAL_TEXT.exec(text);
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match ?? [];
  if (!match || whole.length + fraction.length === 0) throw notDecimal(input);
  const exp = Number(exponent);
  if (Math.abs(exp) > MAX_SCALE || fraction.length > MAX_SCALE) throw notDecimal(input, 'exponent or scale too large');
  const magnitude = BigInt(whole + fraction || '0');
  const unscaled = sign === '-' ? -magnitude : magnitude;
  const scale = fraction.length - exp;
  return scale >= 0 ? { unscaled, scale } : { unscaled: unscaled * pow10(-scale), scale: 0 };
}

/** The decimal as text with exactly `scale` fraction digits; never '-0'. */
export function formatDecimal(d: Decimal): string {
  const negative = d.unscaled < 0n;
  const digits = (negative ? -d.unscaled : d.unscaled).toString().padStart(d.scale + 1, '0');
  const whole = digits.slice(0, digits.length - d.scale);
  const fraction = d.scale > 0 ? `.${digits.slice(digits.length - d.scale)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/** Minimal text of a decimal: no trailing fraction zeros, no leading zeros, no '-0'. '1.50' → '1.5', '-0.0' → '0'. */
export function normalizeDecimal(input: string | number): string {
  return formatDecimal(stripZeros(parseDecimal(input)));
}

/** The decimal with exactly `scale` fraction digits, rounding half away from zero when digits are dropped. */
export function rescaleDecimal(input: string | number, scale: number): string {
  return formatDecimal(rescale(parseDecimal(input), scale));
}

/** The exact product; its scale is the sum of both scales ('1.5' × '12' → '18.0'). */
export function multiplyDecimal(a: string | number, b: string | number): string {
  return formatDecimal(multiply(parseDecimal(a), parseDecimal(b)));
}

/** a ÷ b with exactly `scale` fraction digits, rounded half away from zero. Throws ConversionError on b = 0. */
export function divideDecimal(a: string | number, b: string | number, scale: number): string {
  return formatDecimal(divide(parseDecimal(a), parseDecimal(b), scale));
}

/** -1, 0 or 1 as a is less than, equal to or greater than b, by value ('1.50' equals '1.5'). */
export function compareDecimal(a: string | number, b: string | number): -1 | 0 | 1 {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  const scale = Math.max(x.scale, y.scale);
  const [p, q] = [rescale(x, scale).unscaled, rescale(y, scale).unscaled];
  return p < q ? -1 : p > q ? 1 : 0;
}

export function rescale(d: Decimal, scale: number): Decimal {
  if (scale >= d.scale) return { unscaled: d.unscaled * pow10(scale - d.scale), scale };
  return { unscaled: divRound(d.unscaled, pow10(d.scale - scale)), scale };
}

export function multiply(a: Decimal, b: Decimal): Decimal {
  return { unscaled: a.unscaled * b.unscaled, scale: a.scale + b.scale };
}

export function divide(a: Decimal, b: Decimal, scale: number): Decimal {
  if (b.unscaled === 0n) throw new ConversionError(`cannot divide ${formatDecimal(a)} by zero`);
  // a/b = (ua·10^sb) / (ub·10^sa); shifted by 10^scale to keep `scale` digits.
  const numerator = a.unscaled * pow10(b.scale + scale);
  const denominator = b.unscaled * pow10(a.scale);
  return { unscaled: divRound(numerator, denominator), scale };
}

/**
 * a ÷ b exactly, at the smallest scale that holds it, or null when the
 * quotient does not terminate (1/3) or would need more than `maxScale` digits.
 */
export function divideExact(a: Decimal, b: Decimal, maxScale = MAX_SCALE): Decimal | null {
  if (b.unscaled === 0n) throw new ConversionError(`cannot divide ${formatDecimal(a)} by zero`);
  const numerator = abs(a.unscaled * pow10(b.scale));
  const denominator = abs(b.unscaled * pow10(a.scale));
  let rest = denominator / gcd(numerator, denominator);
  // A reduced fraction terminates iff its denominator is 2^i·5^j; it then needs max(i, j) digits.
  let twos = 0;
  let fives = 0;
  while (rest % 2n === 0n) [rest, twos] = [rest / 2n, twos + 1];
  while (rest % 5n === 0n) [rest, fives] = [rest / 5n, fives + 1];
  const scale = Math.max(twos, fives);
  if (rest !== 1n || scale > maxScale) return null;
  return divide(a, b, scale);
}

export function stripZeros(d: Decimal): Decimal {
  let { unscaled, scale } = d;
  while (scale > 0 && unscaled % 10n === 0n) [unscaled, scale] = [unscaled / 10n, scale - 1];
  return { unscaled, scale };
}

export function isZero(d: Decimal): boolean {
  return d.unscaled === 0n;
}

/** n ÷ d rounded half away from zero (BigInt division truncates towards zero). */
function divRound(n: bigint, d: bigint): bigint {
  const negative = n < 0n !== d < 0n;
  const [an, ad] = [abs(n), abs(d)];
  const q = an / ad;
  const rounded = (an % ad) * 2n >= ad ? q + 1n : q;
  return negative ? -rounded : rounded;
}

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

function abs(n: bigint): bigint {
  return n < 0n ? -n : n;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function notDecimal(input: string | number, why?: string): ConversionError {
  const shown = typeof input === 'string' ? JSON.stringify(input) : String(input);
  return new ConversionError(why ? `${shown} is not accepted as a decimal: ${why}` : `${shown} is not a decimal number`);
}
