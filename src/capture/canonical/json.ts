/**
 * json/jsonb (and MariaDB's JSON, which is text) → the one form every
 * capture path gives: the parsed value when nothing in it is lost by
 * JavaScript's doubles; otherwise the document's own JSON text. A document
 * whose top level is a string or null is also carried as its JSON text, so
 * that a JS string bound for a json column is always JSON text and a JSON
 * `null` never turns into SQL NULL.
 */
import type { Value } from '../change-event';
import { JsonNumber, parseJsonLossless, type Json } from '../debezium/lossless-json';

/** Throws the parser's error (a JsonSyntaxError) for text that is not JSON. */
export function canonicalJson(text: string): Value {
  const parsed = parseJsonLossless(text);
  if (parsed === null || typeof parsed === 'string' || hasInexactNumber(parsed)) return text;
  return toValue(parsed);
}

function hasInexactNumber(value: Json): boolean {
  if (value instanceof JsonNumber) return !exactAsDouble(value.text);
  if (Array.isArray(value)) return value.some(hasInexactNumber);
  if (value !== null && typeof value === 'object') return Object.values(value).some(hasInexactNumber);
  return false;
}

/** Whether the double nearest to `text` is the same decimal value (so it prints back equal); -0 is not. */
export function exactAsDouble(text: string): boolean {
  const n = Number(text);
  if (!Number.isFinite(n) || Object.is(n, -0)) return false;
  return sameDecimal(text, String(n));
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** Decimal text → [sign, significant digits, exponent of the last digit]; null when not decimal text. */
function normalise(text: string): string | null {
  const m = DECIMAL.exec(text);
  if (!m) return null;
  const [, sign, int = '', frac = '', exp = '0'] = m;
  const digits = `${int}${frac}`.replace(/^0+/, '');
  if (digits === '') return '0';
  const trimmed = digits.replace(/0+$/, '');
  const exponent = Number(exp) - frac.length + (digits.length - trimmed.length);
  return `${sign}${trimmed}e${exponent}`;
}

function sameDecimal(a: string, b: string): boolean {
  const x = normalise(a);
  return x !== null && x === normalise(b);
}

function toValue(json: Json): Value {
  if (json instanceof JsonNumber) return Number(json.text);
  if (Array.isArray(json)) return json.map(toValue);
  if (json !== null && typeof json === 'object') {
    const out: Record<string, Value> = {};
    for (const [k, v] of Object.entries(json)) Object.defineProperty(out, k, { value: toValue(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return json;
}
