/**
 * Times of day and durations up to MySQL's ±838:59:59.999999:
 * '[-]HH:MM:SS[.f]', hours at least two digits, the sign applying to the
 * whole value ('-00:00:00.000001'), fraction without trailing zeros.
 */

/** A signed count of `unitsPerSecond` → the canonical time text. */
export function formatSignedTime(value: bigint, unitsPerSecond: bigint): string {
  const negative = value < 0n;
  const a = negative ? -value : value;
  const seconds = a / unitsPerSecond;
  const sub = a % unitsPerSecond;
  const digits = unitsPerSecond.toString().length - 1;
  const fraction = sub === 0n ? '' : `.${sub.toString().padStart(digits, '0').replace(/0+$/, '')}`;
  const pad = (n: bigint): string => n.toString().padStart(2, '0');
  return `${negative ? '-' : ''}${pad(seconds / 3600n)}:${pad((seconds % 3600n) / 60n)}:${pad(seconds % 60n)}${fraction}`;
}
