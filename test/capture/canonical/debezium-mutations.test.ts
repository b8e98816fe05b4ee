/**
 * Debezium messages mutated and truncated at random (a character replaced
 * by up to three others, or the text cut short): only DecodeError, never
 * another exception. 35,000 inputs (see debezium-properties.test.ts).
 */
import fc from 'fast-check';
import { afterEach, describe, it } from 'vitest';
import { decodeDebeziumMessage } from '../../../src/capture/debezium';
import { field, message, onlyDecodeErrors } from './debezium-fields';

// Synchronous property runs keep the worker's event loop busy: let vitest's RPC through between tests.
afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));

describe('Debezium messages (property)', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])('mutated and truncated messages give only DecodeError (part %i)', (part) => {
    // A few hundred well-formed messages, each mutated many ways (generating fresh rows per input is the slow part).
    const messages = fc.sample(fc.array(field, { minLength: 1, maxLength: 3 }), { numRuns: 50, seed: part }).map(message);
    const mutated = fc.tuple(fc.constantFrom(...messages), fc.nat(), fc.string({ maxLength: 3 }), fc.nat(), fc.boolean())
      .map(([text, at, insert, cut, truncate]) => {
        const i = at % text.length;
        return truncate ? text.slice(0, cut % text.length) : `${text.slice(0, i)}${insert}${text.slice(i + 1)}`;
      });
    fc.assert(fc.property(mutated, (text) => {
      onlyDecodeErrors(() => decodeDebeziumMessage({ key: null, value: text }));
    }), { numRuns: 3_500, seed: part });
  });
});
