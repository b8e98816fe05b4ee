/**
 * The decoder's fast paths (issue 10) against the general ones they stand in
 * for, on generated inputs and on every real fixture:
 * - compiled column decoders ≡ decodeWithSchema (values and error messages);
 * - the one-pass number scan ≡ the stepwise scan;
 * - the compact `{"schema":…,"payload":…}` bytes with a cached schema ≡ the
 *   same message parsed whole (whitespace in front of it sends it down the
 *   general path: no cache, no compiled decoders).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeDebeziumMessage, type DebeziumRecord } from '../../../src/capture/debezium';
import { compileColumn, isNormalUtcTimestamp, smallBase64Integer } from '../../../src/capture/debezium/compile';
import type { ConnectSchema } from '../../../src/capture/debezium/connect-schema';
import { bytesToBigInt, decodeBase64 } from '../../../src/capture/debezium/decimal';
import { parseJsonLossless, scanNumbers, scanNumbersStepwise, type Json } from '../../../src/capture/debezium/lossless-json';
import { normalizeZonedTimestamp } from '../../../src/capture/debezium/time';
import { decodeWithSchema } from '../../../src/capture/debezium/values';
import { field, message } from '../canonical/debezium-fields';

afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));

type Outcome = { value: unknown } | { error: string };
function outcome(f: () => unknown): Outcome {
  try {
    return { value: f() };
  } catch (error) {
    return { error: `${(error as Error).constructor.name}: ${(error as Error).message}` };
  }
}

const base64ish = fc.oneof(
  fc.uint8Array({ maxLength: 9 }).map((b) => Buffer.from(b).toString('base64')),
  fc.array(fc.constantFrom(...'AB/+z9=Q'), { minLength: 0, maxLength: 9 }).map((a) => a.join('')),
);
const digits = (n: number, width: number) => String(n).padStart(width, '0');
const timestampText = fc.tuple(
  fc.oneof(fc.integer({ min: 0, max: 10_000 }).map((y) => digits(y, 4)), fc.constantFrom('-0001', '+2026', '12345', '202')),
  fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 61 }), fc.integer({ min: 0, max: 61 }),
  fc.oneof(fc.constant(''), fc.stringMatching(/^\.[0-9]{0,10}$/)), fc.constantFrom('Z', 'Z', '+01:00', '-05:30', 'z', ''),
).map(([y, mo, d, h, mi, s, f, z]) => `${y}-${digits(mo, 2)}-${digits(d, 2)}T${digits(h, 2)}:${digits(mi, 2)}:${digits(s, 2)}${f}${z}`);
const anyJson: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue().map((v) => parseJsonLossless(JSON.stringify(v) ?? 'null')),
  fc.constantFrom<Json>(-0, 1.5, 9007199254740993, '', 'NaN', 'Infinity', true, [], {}),
  fc.constantFrom('1.0', '-0', '1e3', '12345678901234567890', '0.1').map((t) => parseJsonLossless(t)),
  base64ish, timestampText,
).filter((v) => v !== null);

const schemaCase: fc.Arbitrary<ConnectSchema> = fc.oneof(
  fc.constantFrom('int8', 'int16', 'int32', 'int64', 'float', 'float32', 'double', 'float64', 'boolean', 'string', 'bytes', 'array', 'map', 'struct').map((type) => ({ type })),
  fc.constantFrom('double', 'boolean').map((type) => ({ type, parameters: { '__debezium.source.column.type': type === 'double' ? 'FLOAT' : 'BIT' } })),
  fc.tuple(fc.option(fc.integer({ min: -3, max: 24 }), { nil: undefined }), fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined })).map(([scale, precision]) => ({
    type: 'bytes', name: 'org.apache.kafka.connect.data.Decimal',
    parameters: { ...(scale === undefined ? {} : { scale: String(scale) }), ...(precision === undefined ? {} : { 'connect.decimal.precision': String(precision) }) },
  })),
  fc.constantFrom(
    'io.debezium.time.ZonedTimestamp', 'io.debezium.time.ZonedTime', 'io.debezium.data.Uuid', 'io.debezium.time.IsoDate', 'io.debezium.time.MicroTimestamp',
    'io.debezium.time.Date', 'io.debezium.data.Json', 'io.debezium.data.VariableScaleDecimal', 'io.debezium.data.geometry.Point', 'some.other.Name',
  ).chain((name) => fc.constantFrom('string', 'int64', 'int32', 'struct').map((type) => ({ type, name }))),
);

describe('compiled column decoders', () => {
  it.each([1, 2, 3, 4])('give what decodeWithSchema gives, errors included, for every generated schema and value (part %i)', (part) => {
    fc.assert(fc.property(schemaCase, fc.array(anyJson, { minLength: 1, maxLength: 8 }), (schema, raws) => {
      const compiled = compileColumn(schema);
      for (const raw of raws) expect(outcome(() => compiled(raw))).toEqual(outcome(() => decodeWithSchema(raw, schema)));
    }), { numRuns: 1_000, seed: part });
  });

  it('agree with decodeWithSchema on every well-formed value of every semantic type', () => {
    fc.assert(fc.property(field, (f) => {
      const raw = parseJsonLossless(f.json);
      const schema = f.schema as unknown as ConnectSchema;
      if (raw !== null) expect(outcome(() => compileColumn(schema)(raw))).toEqual(outcome(() => decodeWithSchema(raw, schema)));
    }), { numRuns: 3_000 });
  });

  it('read small base64 integers as the bigint path does', () => {
    fc.assert(fc.property(base64ish, (text) => {
      const bytes = decodeBase64(text);
      const expected = bytes && bytes.length >= 1 && bytes.length <= 6 ? Number(bytesToBigInt(bytes)) : null;
      expect(smallBase64Integer(text)).toBe(expected);
    }), { numRuns: 5_000 });
  });

  it('pass a ZonedTimestamp through only when normalising would not change it', () => {
    fc.assert(fc.property(timestampText, (text) => {
      if (isNormalUtcTimestamp(text)) expect(normalizeZonedTimestamp(text)).toBe(text);
    }), { numRuns: 10_000 });
    for (const t of ['2026-01-01T00:00:00Z', '2024-02-29T23:59:59.123456Z', '0001-01-01T00:00:00.1Z']) expect(isNormalUtcTimestamp(t)).toBe(true);
    for (const t of ['2025-02-29T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T00:00:00.10Z', '0000-01-01T00:00:00Z', '2026-01-01T00:00:60Z']) expect(isNormalUtcTimestamp(t)).toBe(false);
  });
});

describe('number scan', () => {
  const numberText = fc.oneof(
    fc.integer().map(String), fc.double().map(String), fc.bigInt().map(String),
    fc.constantFrom('-0', '01', '1.0', '1e5', '1E+5', '-', '1-2', '9007199254740993', '123456789012345', '1234567890123456', '0.5e-3'),
  );
  const jsonish = fc.array(fc.oneof(
    numberText, fc.string().map((s) => JSON.stringify(s)), fc.constantFrom('"\\\\"', '"\\"', '"a\\"1.5"', '[', ']', '{', '}', ',', ':', ' ', 'true', 'null', '"', '\\', '\n'),
  ), { maxLength: 40 }).map((parts) => parts.join(''));

  it.each([1, 2, 3, 4])('classifies every text as the stepwise scan does (part %i)', (part) => {
    fc.assert(fc.property(fc.oneof(jsonish, fc.json(), fc.string()), (text) => {
      expect(scanNumbers(text)).toBe(scanNumbersStepwise(text));
    }), { numRuns: 5_000, seed: part });
  });

  it('still refuses deep nesting', () => {
    for (const depth of [255, 256, 257, 300]) {
      const text = `${'['.repeat(depth)}1.5${']'.repeat(depth)}`;
      expect(scanNumbers(text)).toBe(scanNumbersStepwise(text));
    }
    const quoted = `["${'['.repeat(300)}", 1.5]`;
    expect(scanNumbers(quoted)).toBe(scanNumbersStepwise(quoted));
  });
});

/** The message minus the whitespace between tokens, every token kept as written (numbers too). */
function compact(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (!/\s/.test(c)) out += c;
  }
  return out;
}

/** The general path's errors name offsets in the text with the space in front: one more. */
function withoutLeadingSpace(o: Outcome): Outcome {
  return 'error' in o ? { error: o.error.replace(/at offset (\d+)/g, (_m, n: string) => `at offset ${Number(n) - 1}`) } : o;
}

const decodeBoth = (value: string, key: string | null = null) => {
  const input = (v: string | null, general: boolean) => (v === null ? null : general ? Buffer.from(` ${v}`) : Buffer.from(v));
  const at = { topic: 'erp.d.t', partition: 3, offset: '42' };
  const general = withoutLeadingSpace(outcome(() => decodeDebeziumMessage({ ...at, key: input(key, true), value: input(value, true) })));
  const cold = outcome(() => decodeDebeziumMessage({ ...at, key: input(key, false), value: input(value, false) }));
  const warm = outcome(() => decodeDebeziumMessage({ ...at, key: input(key, false), value: input(value, false) }));
  const asText = outcome(() => decodeDebeziumMessage({ ...at, key, value }));
  return { general, cold, warm, asText };
};

describe('compact envelopes with a cached schema', () => {
  // Split in parts so that no single test blocks the worker for long on a loaded machine.
  it.each([1, 2, 3, 4, 5, 6])('decode as the same message parsed whole, for generated messages of every semantic type (part %i)', (part) => {
    fc.assert(fc.property(fc.array(field, { minLength: 1, maxLength: 5 }), (fields) => {
      const { general, cold, warm, asText } = decodeBoth(message(fields));
      expect(cold).toEqual(general);
      expect(warm).toEqual(general);
      expect(asText).toEqual(general);
    }), { numRuns: 250, seed: part });
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('decode as parsed whole when mutated (any outcome, as long as it is the same; part %i)', (part) => {
    const messages = fc.sample(fc.array(field, { minLength: 1, maxLength: 3 }), { numRuns: 10, seed: part }).map(message);
    fc.assert(fc.property(fc.constantFrom(...messages), fc.nat(), fc.string({ maxLength: 3 }), (text, at, insert) => {
      const i = at % text.length;
      const mutated = `${text.slice(0, i)}${insert}${text.slice(i + 1)}`;
      // The unmutated message first, so that its schema is cached when the mutated one comes.
      decodeBoth(text);
      const { general, cold, warm } = decodeBoth(mutated);
      expect(cold).toEqual(general);
      expect(warm).toEqual(general);
    }), { numRuns: 400, seed: part });
  });

  it('tell apart schemas that differ by one byte, and more schemas than are kept as bytes', () => {
    const schemaFor = (i: number) => ({ type: 'struct', fields: [{ field: 'after', type: 'struct', fields: [{ field: 'v', type: i % 2 ? 'int64' : 'string', name: `n${i}` }] }] });
    const messageFor = (i: number) => `{"schema":${JSON.stringify(schemaFor(i))},"payload":{"after":{"v":${i % 2 ? '9007199254740993' : '"x"'}},"source":{"connector":"postgresql","lsn":${i}},"op":"c"}}`;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 40; i++) {
        const { general, cold } = decodeBoth(messageFor(i));
        expect(cold).toEqual(general);
        expect(cold).toMatchObject({ value: { kind: 'change', event: { after: { v: i % 2 ? '9007199254740993' : 'x' } } } });
      }
    }
  });

  it('fall back for what is not the compact form: a BOM, trailing whitespace, bad UTF-8 in either part', () => {
    const text = message([]);
    const at = text.indexOf(',"payload":');
    const variants = [
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]),
      Buffer.from(`${text}\n`),
      Buffer.concat([Buffer.from(text.slice(0, at + 11)), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text.slice(at + 11))]),
      Buffer.concat([Buffer.from(text.slice(0, 20)), Buffer.from([0xff]), Buffer.from(text.slice(20))]),
      Buffer.concat([Buffer.from(text.slice(0, -5)), Buffer.from([0xc3]), Buffer.from(text.slice(-5))]),
    ];
    decodeDebeziumMessage({ key: null, value: Buffer.from(text) }); // schema cached
    for (const value of variants) {
      const fast = outcome(() => decodeDebeziumMessage({ key: null, value }));
      const general = withoutLeadingSpace(outcome(() => decodeDebeziumMessage({ key: null, value: Buffer.concat([Buffer.from(' '), value]) })));
      if (value[0] === 0xef) {
        // The general path strips a leading BOM, which a leading space hides: compare with the text decoded as before.
        expect(fast).toEqual(outcome(() => decodeDebeziumMessage({ key: null, value: value.toString('utf8').slice(1) })));
      } else expect(fast).toEqual(general);
    }
  });
});

describe('real fixtures', () => {
  const ROOT = process.env.TANDEM_FIXTURES_DIR ?? path.resolve(__dirname, '../../../../shared/fixtures/debezium');
  const fixtures = readdirSync(ROOT).flatMap((c) => readdirSync(path.join(ROOT, c)).map((f) => path.join(ROOT, c, f)));
  const CAPTURED = path.resolve(__dirname, '../../kafka/captured');
  const captured = readdirSync(CAPTURED).filter((f) => f.endsWith('.json')).map((f) => path.join(CAPTURED, f));

  it.each(fixtures.map((f) => [path.relative(ROOT, f), f]))('%s decodes compact and cached as parsed whole', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    const { general, cold, warm, asText } = decodeBoth(compact(text));
    expect(cold).toEqual(general);
    expect(warm).toEqual(general);
    expect(asText).toEqual(general);
    // And the file as it is (pretty-printed: the general path) means the same.
    expect(general).toEqual(outcome(() => decodeDebeziumMessage({ topic: 'erp.d.t', partition: 3, offset: '42', key: null, value: Buffer.from(text) })));
  });

  it.each(captured.map((f) => [path.basename(f), f]))('captured %s (key and value as Kafka held them) decodes the same both ways', (_name, file) => {
    const c = JSON.parse(readFileSync(file, 'utf8')) as { key: unknown; value: unknown };
    // The captured file holds the key and value parsed; their text as the JsonConverter wrote it is the compact form.
    const fileText = readFileSync(file, 'utf8');
    const keyText = c.key === null ? null : compact(JSON.stringify(c.key));
    const valueText = c.value === null ? null : compact(slot(fileText, 'value'));
    const { general, cold, warm } = decodeBoth(valueText ?? 'null', keyText);
    expect(cold).toEqual(general);
    expect(warm).toEqual(general);
    expect((cold as { value: DebeziumRecord }).value.kind).toMatch(/change|tombstone/);
  });
});

/** The text of a top-level member of the captured file, numbers as written (JSON.stringify would round big ones). */
function slot(fileText: string, member: string): string {
  const start = fileText.indexOf(`"${member}": `) + member.length + 4;
  let depth = 0;
  for (let i = start; i < fileText.length; i++) {
    const c = fileText[i];
    if (c === '"') {
      i++;
      while (fileText[i] !== '"') i += fileText[i] === '\\' ? 2 : 1;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return fileText.slice(start, i + 1);
    } else if (depth === 0 && (c === ',' || c === '\n')) return fileText.slice(start, i);
  }
  return fileText.slice(start);
}
