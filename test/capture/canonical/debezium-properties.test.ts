/**
 * Debezium JSON decoding, property-tested (issue 12): values of every
 * semantic type, written the way the JsonConverter writes them (with
 * schemas), decode to the same canonical form native capture gives (about
 * 21,000 values). With debezium-malformed.test.ts (50,000 malformed values)
 * and debezium-mutations.test.ts (35,000 mutated messages) about 106,000
 * generated inputs in total.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeDebeziumMessage } from '../../../src/capture/debezium';
import { field, message } from './debezium-fields';

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
});
