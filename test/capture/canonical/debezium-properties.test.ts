/**
 * Debezium JSON decoding, property-tested (issue 12): values of every
 * semantic type, written the way the JsonConverter writes them (with
 * schemas), decode to the same canonical form native capture gives; any
 * malformed value gives only a DecodeError, and a value that is accepted is
 * never a wrong one. With debezium-mutations.test.ts about 106,000 generated
 * inputs in total.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeDebeziumMessage } from '../../../src/capture/debezium';
import { DecodeError } from '../../../src/errors';
import { field, message, onlyDecodeErrors } from './debezium-fields';

/** Canonical base64 of a big-endian two's-complement number → its decimal text at scale 3 (independent of src). */
function scaled(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  let n = BigInt(`0x${bytes.toString('hex') || '0'}`);
  if (bytes.length && bytes[0]! >= 0x80) n -= 1n << BigInt(bytes.length * 8);
  const sign = n < 0n ? '-' : '';
  const digits = (n < 0n ? -n : n).toString().padStart(4, '0');
  return `${sign}${digits.slice(0, -3)}.${digits.slice(-3)}`;
}

const decodeAfter = (text: string, topic = 'erp.d.t') => {
  const r = decodeDebeziumMessage({ key: null, value: text, topic, partition: 0, offset: '7' });
  if (r.kind !== 'change') throw new Error(`not a change: ${r.kind}`);
  return r.event.after ?? {};
};

// Synchronous property runs keep the worker's event loop busy: let vitest's RPC through between tests.
afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));

describe('Debezium values (property)', () => {
  // Split in parts so that no single test blocks the worker for long on a loaded machine.
  it.each([1, 2, 3, 4, 5, 6])('decodes every generated well-formed value to its canonical form (part %i)', (part) => {
    fc.assert(fc.property(fc.array(field, { minLength: 1, maxLength: 6 }), (fields) => {
      const after = decodeAfter(message(fields));
      fields.forEach((f, i) => expect(after[`c${i}`]).toEqual(f.expected));
    }), { numRuns: 1_000, seed: part }); // about 3,500 values per part
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])('a malformed value gives a DecodeError naming topic, partition and offset; an accepted one is exact (part %i)', (part) => {
    const strict = fc.constantFrom(
      { type: 'bytes', name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: '3' } },
      { type: 'bytes' },
      { type: 'bytes', name: 'io.debezium.data.Bits', parameters: { length: '12' } },
      { type: 'string', name: 'io.debezium.data.Json' },
      { type: 'string', name: 'io.debezium.time.Interval' },
      { type: 'int64', name: 'io.debezium.time.MicroTime' },
      { type: 'int32' },
      { type: 'double' },
      { type: 'boolean' },
    );
    const raw = fc.oneof(
      fc.string().map((s) => JSON.stringify(s)),
      fc.base64String().map((s) => JSON.stringify(s)),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
      fc.constantFrom('"abc"', '"AAE"', '"AAE=="', '"QR=="', '""', '"P1Y"', '"P"', '"-PT1S"', '1.5', '1e3', '99999999999', '"NaN"', '"-Infinity"', '"{\\"a\\":1e400}"', 'true'),
    );
    fc.assert(fc.property(strict, raw, (schema, json) => {
      const text = message([{ schema, json, expected: null }]);
      const result = onlyDecodeErrors(() => decodeAfter(text).c0);
      if (result instanceof DecodeError) {
        expect(result.context.position).toBeTruthy();
        expect(result.message).toMatch(/topic erp\.d\.t partition 0 offset 7/);
        return;
      }
      const value = JSON.parse(json) as unknown;
      if (value === null) {
        expect(result).toBeNull();
        return;
      }
      if (schema.type === 'bytes' && typeof value !== 'number') {
        // Accepted bytes are canonical padded base64 of exactly the bytes sent.
        expect(typeof value).toBe('string');
        expect(Buffer.from(value as string, 'base64').toString('base64')).toBe(value);
      }
      if (schema.name === 'org.apache.kafka.connect.data.Decimal') {
        // Bytes: exactly the two's-complement number at scale 3; a JSON number (decimal.format=NUMERIC): its own digits.
        const expected = typeof value === 'string' ? scaled(value) : null;
        if (expected !== null) expect(result).toBe(expected);
        else expect(Number(result)).toBe(Number(json));
      }
      if (schema.name === 'io.debezium.time.Interval') expect(result).toMatch(/^(P(\d|-)|PT|infinity|-infinity)/);
      if (schema.type === 'int32') expect(result).toBe(value);
    }), { numRuns: 5_000, seed: part });
  });
});
