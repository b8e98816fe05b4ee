/**
 * Bit strings (PostgreSQL bit/varbit, MySQL BIT(n)): the canonical form is
 * a string of '0'/'1', most significant bit first, `length` digits.
 */
/** Big-endian bytes (MySQL's BIT in the binlog and in query results) → `length` digits. */
export function bitsFromBigEndian(bytes: Uint8Array, length: number): string | null {
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return bitsOf(value, length);
}

/**
 * Debezium's `io.debezium.data.Bits`: java.util.BitSet#toByteArray, which is
 * little-endian (bit i is bit i%8 of byte i/8) and drops trailing zero bytes.
 */
export function bitsFromLittleEndian(bytes: Uint8Array, length: number): string | null {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return bitsOf(value, length);
}

/** null when the value needs more than `length` bits. */
export function bitsOf(value: bigint, length: number): string | null {
  const digits = value === 0n ? '' : value.toString(2);
  return digits.length > length ? null : digits.padStart(length, '0');
}
