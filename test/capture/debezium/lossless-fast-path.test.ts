/**
 * parseJsonLossless takes JSON.parse when that loses nothing; these inputs sit
 * on either side of that line and must come out exactly as the lossless parser
 * makes them (safe integers as numbers, every other number as its own text).
 */
import { describe, expect, it } from 'vitest';
import { decodeDebeziumMessage } from '../../../src/capture/debezium';
import { JsonNumber, parseJsonLossless } from '../../../src/capture/debezium/lossless-json';

const n = (text: string) => new JsonNumber(text);

describe('parseJsonLossless fast path', () => {
  it.each([
    ['[1, -2, 0, 123456789012345]', [1, -2, 0, 123456789012345]],
    ['[1.5, -0.25, 1e-7]', [n('1.5'), n('-0.25'), n('1e-7')]],
    ['[1.50, 1.0, 1e5, 1E5, -0, 0.0]', [n('1.50'), n('1.0'), n('1e5'), n('1E5'), n('-0'), n('0.0')]],
    ['[9007199254740991, 9007199254740992, 9007199254740993]', [9007199254740991, n('9007199254740992'), n('9007199254740993')]],
    ['[123456789876543212345678987654321.110]', [n('123456789876543212345678987654321.110')]],
    ['{"a":"1.50 \\" 2.0","b":[{"c":2.5}],"d":"\\\\","e":3.0}', { a: '1.50 " 2.0', b: [{ c: n('2.5') }], d: '\\', e: n('3.0') }],
    ['{"a":1,"a":2.5}', { a: n('2.5') }],
  ])('%s', (text, expected) => {
    expect(parseJsonLossless(text)).toEqual(expected);
  });

  it('keeps a "__proto__" key as data, also when its value is rewritten', () => {
    const parsed = parseJsonLossless('{"__proto__":{"x":1.5}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value).toEqual({ x: n('1.5') });
  });

  it('words errors as the lossless parser does', () => {
    expect(() => parseJsonLossless('[1, 2')).toThrow(/at offset/);
    expect(() => parseJsonLossless('[01]')).toThrow(/at offset/);
    expect(() => parseJsonLossless('"a')).toThrow(/unterminated string/);
  });

  it('refuses nesting beyond the lossless limit', () => {
    expect(() => parseJsonLossless('['.repeat(600) + ']'.repeat(600))).toThrow(/nesting too deep/);
  });
});

describe('schema-and-payload envelopes', () => {
  const schema = { type: 'struct', fields: [{ type: 'int64', field: 'id' }, { type: 'string', field: 'name' }], name: 'k' };
  const message = (payload: string) => `{"schema":${JSON.stringify(schema)},"payload":${payload}}`;

  it('decode the same with a repeated schema text', () => {
    const key = (id: string) => decodeDebeziumMessage({ key: message(`{"id":${id},"name":"x"}`), value: null });
    for (const id of ['1', '9007199254740993', '2']) expect(key(id)).toMatchObject({ kind: 'tombstone' });
    expect(key('9007199254740993')).toEqual(key('9007199254740993'));
  });

  it('reject a payload that is not one JSON value, as before', () => {
    expect(() => decodeDebeziumMessage({ key: null, value: `{"schema":{"type":"string"},"payload":"a","x":1}` })).toThrow();
    expect(() => decodeDebeziumMessage({ key: null, value: `{"schema":{"type":"string"},"payload":}` })).toThrow(/not JSON/);
  });
});
