/** A Kafka key or value, in whichever form the caller has it → lossless JSON. */
import { JsonNumber, JsonSyntaxError, parseJsonLossless, type Json, type JsonObject } from './lossless-json';
import { ValueError } from './values';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** undefined for null/undefined input (a Kafka record without a value). */
export function readJson(input: unknown, what: string): Json | undefined {
  if (input === null || input === undefined) return undefined;
  const text = jsonText(input, what);
  if (text !== null) return parseText(text, what);
  return fromParsed(input, what, 0);
}

/** The JSON text of a string or UTF-8 bytes (without a BOM); null for anything else. */
export function jsonText(input: unknown, what: string): string | null {
  let text: string;
  if (typeof input === 'string') text = input;
  else if (input instanceof Uint8Array) {
    try {
      text = utf8.decode(input);
    } catch {
      throw new ValueError(`${what} is not UTF-8`);
    }
  } else return null;
  // A BOM is not JSON, but files written by Windows tools start with one.
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/** Parses JSON text (as `jsonText` returns it), errors worded as ValueErrors. */
export function parseText(text: string, what: string): Json {
  try {
    return parseJsonLossless(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new ValueError(`${what} is not JSON: ${error.message}`);
    throw error;
  }
}

/** Checks a value parsed elsewhere (JSON.parse) is JSON; anything else is refused, not guessed at. */
function fromParsed(input: unknown, what: string, depth: number): Json {
  if (depth > 512) throw new ValueError(`${what} nests too deep`);
  if (input === null || typeof input === 'boolean' || typeof input === 'string' || input instanceof JsonNumber) return input;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new ValueError(`${what} holds a non-finite number`);
    return Number.isSafeInteger(input) ? input : new JsonNumber(String(input));
  }
  if (Array.isArray(input)) return input.map((item) => fromParsed(item, what, depth + 1));
  if (typeof input === 'object' && Object.getPrototypeOf(input) === Object.prototype || (typeof input === 'object' && Object.getPrototypeOf(input) === null)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
      Object.defineProperty(out, k, { value: fromParsed(v, what, depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  throw new ValueError(`${what} is not JSON (${typeof input})`);
}
