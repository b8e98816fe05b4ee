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
