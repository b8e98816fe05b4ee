/**
 * Exact decimals. Kafka Connect's `Decimal` is the unscaled value as big-endian
 * two's-complement bytes (base64 in JSON) with the scale only in the schema;
 * the result is the same decimal text PostgreSQL prints for numeric, so a
 * value captured natively and through Debezium compares equal.
 */
import { isCanonicalBase64 } from '../canonical/base64';

/** Big-endian two's-complement bytes → bigint (Java's `new BigInteger(bytes)`). */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  // The top bit of the first byte is the sign.
  if ((bytes[0] ?? 0) & 0x80) n -= 1n << BigInt(bytes.length * 8);
  return n;
}

/** bigint → the shortest big-endian two's-complement bytes (Java's `BigInteger.toByteArray()`). */
export function bigIntToBytes(n: bigint): Uint8Array {
  const out: number[] = [];
  let v = n;
  for (;;) {
    const byte = Number(v & 0xffn);
    out.unshift(byte);
    v >>= 8n;
    const signBitSet = (byte & 0x80) !== 0;
    if ((v === 0n && !signBitSet) || (v === -1n && signBitSet)) break;
  }
  return Uint8Array.from(out);
}

/** unscaled × 10^-scale as plain decimal text with exactly `scale` fraction digits (none when scale ≤ 0). */
export function formatDecimal(unscaled: bigint, scale: number): string {
  if (scale <= 0) return (unscaled * 10n ** BigInt(-scale)).toString();
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

const DECIMAL_TEXT = /^([+-]?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Decimal text (JSON number syntax, exponent allowed) → unscaled and scale; null when it is not a number. */
export function parseDecimalText(text: string): { unscaled: bigint; scale: number } | null {
  const m = DECIMAL_TEXT.exec(text.trim());
  if (!m) return null;
  const [, sign, int = '', frac = '', exp = '0'] = m;
  const exponent = Number(exp);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 10_000) return null;
  const unscaled = BigInt(`${int}${frac}`) * (sign === '-' ? -1n : 1n);
  return { unscaled, scale: frac.length - exponent };
}

/**
 * Brings a decimal to `scale` when no digit is lost (adds zeros or drops
 * trailing zeros); otherwise keeps its own scale, since the value itself is
 * the truth and the schema's scale only its usual form.
 */
export function rescale(unscaled: bigint, from: number, to: number): { unscaled: bigint; scale: number } {
  if (to >= from) return { unscaled: unscaled * 10n ** BigInt(to - from), scale: to };
  const divisor = 10n ** BigInt(from - to);
  return unscaled % divisor === 0n ? { unscaled: unscaled / divisor, scale: to } : { unscaled, scale: from };
}

/** Padded standard base64 (as the JsonConverter writes bytes) → bytes; null for anything else, e.g. "abc". */
export function decodeBase64(text: string): Uint8Array | null {
  if (!isCanonicalBase64(text)) return null;
  return Uint8Array.from(Buffer.from(text, 'base64'));
}
