/**
 * A small JSON parser that loses nothing. `JSON.parse` turns every number
 * into a double, which silently rounds int64 values beyond 2^53 and decimals
 * written by the JsonConverter with `decimal.format=NUMERIC` (e.g.
 * `123456789876543212345678987654321.110`). Here safe integers become
 * numbers and every other number keeps its exact text in a `JsonNumber`.
 * Duplicate keys keep the last value, as `JSON.parse` does (a Debezium
 * tutorial event has `source.name` twice).
 */

/** A JSON number kept as its text: not a safe integer, or written with a fraction or exponent. */
export class JsonNumber {
  constructor(readonly text: string) {}
  toJSON(): number {
    return Number(this.text);
  }
}

export type Json = null | boolean | number | string | JsonNumber | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export class JsonSyntaxError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'JsonSyntaxError';
  }
}

/** Deeper nesting is refused rather than risking a stack overflow on hostile input. */
const MAX_DEPTH = 512;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const SAFE_INTEGER_TEXT = /^-?(?:0|[1-9]\d*)$/;

export function parseJsonLossless(text: string): Json {
  // Fast path: JSON.parse gives the same result whenever every number in the
  // text prints back exactly as written (String(Number(t)) === t); numbers
  // that are not safe integers then become JsonNumbers of that same text.
  // Anything else (long or unsafe integers, -0, 1.0, 1e5, deep nesting,
  // malformed text) takes the lossless parser, which also words the errors.
  const scan = scanNumbers(text);
  if (scan !== SCAN_SLOW) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (parsed !== undefined) return scan === SCAN_PLAIN ? (parsed as Json) : wrapNumbers(parsed as Json);
  }
  return parseLossless(text);
}

const SCAN_PLAIN = 0;
const SCAN_WRAP = 1;
const SCAN_SLOW = 2;
/** Well below MAX_DEPTH, so the fast path never accepts what the lossless parser refuses. */
const FAST_MAX_DEPTH = 256;

/**
 * Skips, in one native pass, what cannot hold a number JSON.parse would
 * change: strings, everything that is not a digit or `-`, and plain safe
 * integers (1–15 digits, or 16 below 9·10^15; no leading zero, not -0) that
 * end the number token (Debezium's `ts_us` has 16 digits).
 * It stops at the first other number token, or an unterminated string.
 */
const SKIP = /(?:"[^"\\]*(?:\\[\s\S][^"\\]*)*"|[^"0-9-]+|(?:0|-?[1-9][0-9]{0,14}|-?[1-8][0-9]{15})(?![0-9.eE+-]))*/y;
/** Longer texts take the stepwise scan: the regular expression's backtracking stack grows with the text. */
const SKIP_MAX_LENGTH = 1 << 20;

/**
 * Looks at every number token outside strings: SCAN_PLAIN when all are plain
 * safe integers (JSON.parse is then exactly lossless), SCAN_WRAP when some other
 * numbers occur but each prints back as written, SCAN_SLOW otherwise (also
 * for nesting deeper than FAST_MAX_DEPTH).
 */
export function scanNumbers(text: string): number {
  const n = text.length;
  if (n > SKIP_MAX_LENGTH || openings(text) > FAST_MAX_DEPTH) return scanNumbersStepwise(text);
  let result = SCAN_PLAIN;
  for (let i = 0; ;) {
    SKIP.lastIndex = i;
    SKIP.test(text);
    i = SKIP.lastIndex;
    if (i >= n) return result;
    // An unterminated string, or a number token that is not a short plain integer.
    if (text.charCodeAt(i) === 0x22) return SCAN_SLOW;
    const start = i;
    if (text.charCodeAt(i) === 0x2d) i++;
    for (; i < n; i++) {
      const d = text.charCodeAt(i);
      if (!((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d)) break;
    }
    const token = text.slice(start, i);
    if (String(Number(token)) !== token) return SCAN_SLOW;
    result = SCAN_WRAP;
  }
}

/** How many `{` and `[` the text holds, strings included (so at least its nesting depth), counted up to FAST_MAX_DEPTH + 1. */
function openings(text: string): number {
  if (text.length <= FAST_MAX_DEPTH) return 0;
  let count = 0;
  for (let i = text.indexOf('{'); i >= 0 && count <= FAST_MAX_DEPTH; i = text.indexOf('{', i + 1)) count++;
  for (let i = text.indexOf('['); i >= 0 && count <= FAST_MAX_DEPTH; i = text.indexOf('[', i + 1)) count++;
  return count;
}

/** The same scan, a character at a time (with its own depth count). */
export function scanNumbersStepwise(text: string): number {
  let result = SCAN_PLAIN;
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; ) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // skip the string: to the next quote not escaped by an odd run of backslashes
      let j = i + 1;
      for (;;) {
        j = text.indexOf('"', j);
        if (j < 0) return SCAN_SLOW;
        let k = j - 1;
        while (text.charCodeAt(k) === 0x5c) k--;
        if ((j - 1 - k) % 2 === 0) break;
        j++;
      }
      i = j + 1;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > FAST_MAX_DEPTH) return SCAN_SLOW;
      i++;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
      i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      let plainInteger = true;
      if (c === 0x2d) i++;
      for (; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d >= 0x30 && d <= 0x39) continue;
        if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) {
          plainInteger = false;
          continue;
        }
        break;
      }
      const digits = i - start - (c === 0x2d ? 1 : 0);
      const leadingZero = text.charCodeAt(c === 0x2d ? start + 1 : start) === 0x30;
      // 16 digits below 9·10^15 are still below 2^53.
      const safeLength = digits <= 15 || (digits === 16 && text.charCodeAt(i - 16) <= 0x38);
      if (plainInteger && digits >= 1 && safeLength && !(leadingZero && (digits > 1 || c === 0x2d))) continue;
      const token = text.slice(start, i);
      if (String(Number(token)) !== token) return SCAN_SLOW;
      result = SCAN_WRAP;
    } else {
      i++;
    }
  }
  return result;
}

/** JSON.parse output → the lossless parser's: numbers that are not safe integers as JsonNumbers. */
function wrapNumbers(value: Json): Json {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : new JsonNumber(String(value));
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = wrapNumbers(value[i]!);
    return value;
  }
  for (const key of Object.keys(value)) {
    const inner = (value as JsonObject)[key]!;
    if (inner === null || (typeof inner !== 'object' && typeof inner !== 'number')) continue;
    const wrapped = wrapNumbers(inner);
    // Assignment to an own property (JSON.parse made every key one, "__proto__" too) sets its value, never the prototype.
    if (wrapped !== inner) (value as JsonObject)[key] = wrapped;
  }
  return value;
}

function parseLossless(text: string): Json {
  const parser = new Parser(text);
  parser.skipSpace();
  const value = parser.value(0);
  parser.skipSpace();
  if (parser.pos !== text.length) throw new JsonSyntaxError('unexpected text after the JSON value', parser.pos);
  return value;
}

class Parser {
  pos = 0;
  constructor(private readonly text: string) {}

  skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      this.pos++;
    }
  }

  value(depth: number): Json {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError('nesting too deep', this.pos);
    const c = this.text[this.pos];
    switch (c) {
      case '{': return this.object(depth);
      case '[': return this.array(depth);
      case '"': return this.string();
      case 't': return this.literal('true', true);
      case 'f': return this.literal('false', false);
      case 'n': return this.literal('null', null);
      default: return this.number();
    }
  }

  private literal<T extends Json>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) throw new JsonSyntaxError('unexpected character', this.pos);
    this.pos += word.length;
    return value;
  }

  private number(): number | JsonNumber {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) throw new JsonSyntaxError(this.pos >= this.text.length ? 'unexpected end of input' : 'unexpected character', this.pos);
    this.pos += m[0].length;
    const text = m[0];
    if (SAFE_INTEGER_TEXT.test(text)) {
      const n = Number(text);
      // -0 is kept as text so that it prints back as written.
      if (Number.isSafeInteger(n) && !Object.is(n, -0)) return n;
    }
    return new JsonNumber(text);
  }

  private string(): string {
    const t = this.text;
    let out = '';
    let start = ++this.pos;
    for (;;) {
      if (this.pos >= t.length) throw new JsonSyntaxError('unterminated string', this.pos);
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) break;
      if (c < 0x20) throw new JsonSyntaxError('control character in string', this.pos);
      if (c === 0x5c) {
        out += t.slice(start, this.pos);
        out += this.escape();
        start = this.pos;
      } else {
        this.pos++;
      }
    }
    out += t.slice(start, this.pos);
    this.pos++;
    return out;
  }

  private escape(): string {
    const t = this.text;
    const c = t[this.pos + 1];
    this.pos += 2;
    switch (c) {
      case '"': return '"';
      case '\\': return '\\';
      case '/': return '/';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'u': {
        const hex = t.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new JsonSyntaxError('bad \\u escape', this.pos);
        this.pos += 4;
        return String.fromCharCode(parseInt(hex, 16));
      }
      default:
        throw new JsonSyntaxError('bad escape', this.pos - 1);
    }
  }

  private array(depth: number): Json[] {
    const out: Json[] = [];
    this.pos++;
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      out.push(this.value(depth + 1));
      this.skipSpace();
      const c = this.text[this.pos++];
      if (c === ']') return out;
      if (c !== ',') throw new JsonSyntaxError("expected ',' or ']'", this.pos - 1);
    }
  }

  private object(depth: number): JsonObject {
    const out: JsonObject = {};
    this.pos++;
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') throw new JsonSyntaxError('expected a key', this.pos);
      const key = this.string();
      this.skipSpace();
      if (this.text[this.pos++] !== ':') throw new JsonSyntaxError("expected ':'", this.pos - 1);
      this.skipSpace();
      const value = this.value(depth + 1);
      // defineProperty, not assignment: a "__proto__" key must be data, not a prototype change.
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      this.skipSpace();
      const c = this.text[this.pos++];
      if (c === '}') return out;
      if (c !== ',') throw new JsonSyntaxError("expected ',' or '}'", this.pos - 1);
    }
  }
}

/** Number → its exact decimal text, whichever way it was parsed. */
export function numberText(value: number | JsonNumber): string {
  return typeof value === 'number' ? String(value) : value.text;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof JsonNumber);
}
