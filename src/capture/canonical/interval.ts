/**
 * Intervals. The canonical form is what PostgreSQL prints under
 * `IntervalStyle = iso_8601` ('P1Y2M3DT4H5M6.000001S', per-component signs
 * as in 'PT-24H-0.000001S' and 'P-1Y-2M', zero as 'PT0S'), which PostgreSQL
 * also accepts as input. An interval is three independent fields (months,
 * days, microseconds), each with its own sign: that is what every form below
 * is read into and printed from, so no field leaks into another.
 */

export interface IntervalParts {
  months: bigint;
  days: bigint;
  micros: bigint;
}

const MICROS_PER_SECOND = 1_000_000n;
const MICROS_PER_MINUTE = 60n * MICROS_PER_SECOND;
const MICROS_PER_HOUR = 60n * MICROS_PER_MINUTE;

const abs = (n: bigint): bigint => (n < 0n ? -n : n);
const part = (n: bigint, unit: string): string => (n === 0n ? '' : `${n}${unit}`);

/** PostgreSQL's EncodeInterval for INTSTYLE_ISO_8601 (divisions truncate toward zero, as in C). */
export function formatIsoInterval({ months, days, micros }: IntervalParts): string {
  if (months === 0n && days === 0n && micros === 0n) return 'PT0S';
  const hours = micros / MICROS_PER_HOUR;
  const minutes = (micros % MICROS_PER_HOUR) / MICROS_PER_MINUTE;
  const subMinute = micros % MICROS_PER_MINUTE;
  let out = `P${part(months / 12n, 'Y')}${part(months % 12n, 'M')}${part(days, 'D')}`;
  if (micros !== 0n) out += `T${part(hours, 'H')}${part(minutes, 'M')}`;
  if (subMinute !== 0n) {
    const a = abs(subMinute);
    const fraction = (a % MICROS_PER_SECOND).toString().padStart(6, '0').replace(/0+$/, '');
    out += `${subMinute < 0n ? '-' : ''}${a / MICROS_PER_SECOND}${fraction ? `.${fraction}` : ''}S`;
  }
  return out;
}

/** Decimal text (optionally signed, with fraction, Java's exponent form) × unit → exact micros; null when not exact to the microsecond. */
function decimalMicros(text: string, unitMicros: bigint): bigint | null {
  const m = /^([+-]?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/.exec(text);
  if (!m) return null;
  const [, sign, int = '', frac = '', exp = '0'] = m;
  let digits = BigInt(`${int}${frac}`) * unitMicros;
  let scale = frac.length - Number(exp);
  if (scale < 0) {
    digits *= 10n ** BigInt(-scale);
    scale = 0;
  }
  const divisor = 10n ** BigInt(scale);
  if (digits % divisor !== 0n) return null;
  const value = digits / divisor;
  return sign === '-' ? -value : value;
}

const INTEGER = /^[+-]?\d+$/;

/**
 * ISO 8601 durations as PostgreSQL prints them (iso_8601 style) and as
 * Debezium's `interval.handling.mode=string` writes them (every component
 * present, `P1Y2M3DT4H5M6.78S`, signs per component). A leading '-' negates
 * every component. Weeks count 7 days. Years, months, weeks and days must be
 * whole; hours, minutes and seconds may have fractions (exact to the µs).
 */
export function parseIsoDuration(text: string): IntervalParts | null {
  const m = /^([+-]?)P(?:([^YMWDT]+)Y)?(?:([^YMWDT]+)M)?(?:([^YMWDT]+)W)?(?:([^YMWDT]+)D)?(?:T(?:([^HMS]+)H)?(?:([^HMS]+)M)?(?:([^HMS]+)S)?)?$/.exec(text);
  if (!m || text.endsWith('P') || text.endsWith('T')) return null;
  const [, sign, y, mo, w, d, h, mi, s] = m;
  for (const whole of [y, mo, w, d]) if (whole !== undefined && !INTEGER.test(whole)) return null;
  const big = (t: string | undefined): bigint => (t === undefined ? 0n : BigInt(t));
  let micros = 0n;
  for (const [t, unit] of [[h, MICROS_PER_HOUR], [mi, MICROS_PER_MINUTE], [s, MICROS_PER_SECOND]] as const) {
    if (t === undefined) continue;
    const v = decimalMicros(t, unit);
    if (v === null) return null;
    micros += v;
  }
  const parts = { months: big(y) * 12n + big(mo), days: big(w) * 7n + big(d), micros };
  return sign === '-' ? { months: -parts.months, days: -parts.days, micros: -parts.micros } : parts;
}

const POSTGRES_STYLE = /^(?:([+-]?\d+) years? ?)?(?:([+-]?\d+) mons? ?)?(?:([+-]?\d+) days? ?)?(?:([+-]?)(\d+):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?$/;

/** PostgreSQL's default `IntervalStyle = postgres` output: '1 year 2 mons -3 days -04:05:06.000001'. */
export function parsePostgresInterval(text: string): IntervalParts | null {
  const m = POSTGRES_STYLE.exec(text);
  if (!m || text === '' || text.endsWith(' ')) return null;
  const [, y, mo, d, sign, h, mi, s, f = ''] = m;
  const big = (t: string | undefined): bigint => (t === undefined ? 0n : BigInt(t));
  let micros = 0n;
  if (h !== undefined) {
    if (Number(mi) > 59 || Number(s) > 59) return null;
    micros = BigInt(h) * MICROS_PER_HOUR + BigInt(mi!) * MICROS_PER_MINUTE + BigInt(s!) * MICROS_PER_SECOND + BigInt(f.padEnd(6, '0') || '0');
    if (sign === '-') micros = -micros;
  }
  return { months: big(y) * 12n + big(mo), days: big(d), micros };
}

/** Interval text in any of the forms above → the canonical form; ±infinity (PostgreSQL 17) as they are; null when not an interval. */
export function canonicalInterval(text: string): string | null {
  if (text === 'infinity' || text === '-infinity') return text;
  const parts = parseIsoDuration(text) ?? parsePostgresInterval(text);
  return parts ? formatIsoInterval(parts) : null;
}
