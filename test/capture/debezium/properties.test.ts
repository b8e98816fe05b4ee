import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeDebeziumMessage, JsonNumber, parseJsonLossless } from '../../../src/capture/debezium';
import { bigIntToBytes, bytesToBigInt, formatDecimal } from '../../../src/capture/debezium/decimal';
import { formatDate, formatLocalTimestamp, formatTimeOfDay } from '../../../src/capture/debezium/time';
import { DecodeError } from '../../../src/errors';

const decimalSchema = (scale: number) =>
  `{"type":"struct","fields":[{"field":"after","type":"struct","optional":true,"fields":[{"field":"x","type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"${scale}"}}]}]}`;

/** Independent reference: BigInt division and string slicing the other way round. */
function referenceDecimal(unscaled: bigint, scale: number): string {
  if (scale === 0) return unscaled.toString();
  const sign = unscaled < 0n ? '-' : '';
  const abs = unscaled < 0n ? -unscaled : unscaled;
  const p = 10n ** BigInt(scale);
  return `${sign}${abs / p}.${(abs % p).toString().padStart(scale, '0')}`;
}

describe('Decimal bytes', () => {
  it('round-trips arbitrary unscaled values through two\u2019s-complement bytes and the decoder', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(1n << 200n), max: 1n << 200n }), fc.integer({ min: 0, max: 40 }), (unscaled, scale) => {
      const bytes = bigIntToBytes(unscaled);
      expect(bytesToBigInt(bytes)).toBe(unscaled);
      const value = `{"schema":${decimalSchema(scale)},"payload":{"after":{"x":"${Buffer.from(bytes).toString('base64')}"},"source":{"connector":"postgresql","lsn":1},"op":"c"}}`;
      const r = decodeDebeziumMessage({ key: null, value });
      expect(r.kind === 'change' && r.event.after?.x).toBe(referenceDecimal(unscaled, scale));
      expect(formatDecimal(unscaled, scale)).toBe(referenceDecimal(unscaled, scale));
    }));
  });
});

describe('temporal conversions agree with an independent computation (JS Date)', () => {
  const iso = (ms: number) => new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ for years 0..9999
  const trim = (t: string) => t.replace(/\.?0+$/, '');

  it('Date', () => {
    fc.assert(fc.property(fc.integer({ min: -719162, max: 2932896 }), (days) => {
      expect(formatDate(BigInt(days))).toBe(iso(days * 86_400_000).slice(0, 10));
    }));
  });
  it('MicroTimestamp and NanoTimestamp', () => {
    fc.assert(fc.property(fc.integer({ min: -62135596800000, max: 253402300799999 }), fc.integer({ min: 0, max: 999_999 }), (ms, subMs) => {
      const micros = BigInt(ms) * 1000n + BigInt(subMs % 1000);
      const nanos = BigInt(ms) * 1_000_000n + BigInt(subMs);
      const base = iso(ms).slice(0, 19);
      const microFrac = `${iso(ms).slice(20, 23)}${String(subMs % 1000).padStart(3, '0')}`;
      const nanoFrac = `${iso(ms).slice(20, 23)}${String(subMs).padStart(6, '0')}`;
      expect(formatLocalTimestamp(micros, 1_000_000n)).toBe(trim(`${base}.${microFrac}`));
      expect(formatLocalTimestamp(nanos, 1_000_000_000n)).toBe(trim(`${base}.${nanoFrac}`));
    }));
  });
  it('MicroTime', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 86_399_999_999 }), (micros) => {
      const ms = Math.floor(micros / 1000);
      const expected = trim(`${iso(ms).slice(11, 23)}${String(micros % 1000).padStart(3, '0')}`);
      expect(formatTimeOfDay(BigInt(micros), 1_000_000n)).toBe(expected);
    }));
  });
});

describe('lossless JSON parser', () => {
  // Only safe integers (and no -0), so JSON.parse is exact and the two must agree.
  const safe = (v: unknown): boolean =>
    typeof v === 'number' ? Number.isSafeInteger(v) && !Object.is(v, -0)
      : Array.isArray(v) ? v.every(safe) : v !== null && typeof v === 'object' ? Object.values(v).every(safe) : true;
  const safeJson = fc.jsonValue().filter(safe);
  it('agrees with JSON.parse on inputs without fractional or big numbers', () => {
    fc.assert(fc.property(safeJson, fc.boolean(), (value, pretty) => {
      const text = JSON.stringify(value, null, pretty ? 2 : undefined);
      expect(parseJsonLossless(text)).toEqual(JSON.parse(text));
    }));
  });
  it('keeps big integers and decimals exact', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(1n << 128n), max: 1n << 128n }), fc.nat({ max: 30 }), (n, scale) => {
      const text = scale ? formatDecimal(n, scale) : n.toString();
      const parsed = parseJsonLossless(`{"v":[${text}]}`) as { v: Array<number | JsonNumber> };
      const v = parsed.v[0];
      const exact = typeof v === 'number' ? String(v) : v?.text;
      expect(exact).toBe(text);
    }));
  });
  it('rejects what JSON.parse rejects', () => {
    fc.assert(fc.property(fc.string(), (text) => {
      let ok = true;
      try { JSON.parse(text); } catch { ok = false; }
      let mine = true;
      try { parseJsonLossless(text); } catch { mine = false; }
      expect(mine).toBe(ok);
    }));
  });
});

describe('robustness', () => {
  const isDecodeError = (f: () => unknown) => {
    try { f(); } catch (error) { expect(error).toBeInstanceOf(DecodeError); }
  };
  it('arbitrary JSON values never throw anything but DecodeError', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.option(fc.jsonValue()), (value, key) => {
      isDecodeError(() => decodeDebeziumMessage({ key: key === null ? null : JSON.stringify(key), value: JSON.stringify(value) }));
      isDecodeError(() => decodeDebeziumMessage({ key, value }));
    }), { numRuns: 500 });
  });
  it('arbitrary envelopes built from Debezium field names never throw anything but DecodeError', () => {
    const leaf = fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.constantFrom('c', 'u', 'd', 'r', 't', 'm', 'BEGIN', 'END', '__debezium_unavailable_value', 'mysql-bin.000001', '[null,"5"]'));
    const source = fc.record({ connector: fc.constantFrom('postgresql', 'mysql', 'sqlserver', 'mariadb', 'x'), lsn: leaf, file: leaf, pos: leaf, row: leaf, gtid: leaf, commit_lsn: leaf, change_lsn: leaf, event_serial_no: leaf, snapshot: leaf, sequence: leaf, txId: leaf, ts_ms: leaf }, { requiredKeys: ['connector'] });
    const envelope = fc.record({ op: leaf, before: fc.oneof(leaf, fc.dictionary(fc.string(), leaf)), after: fc.oneof(leaf, fc.dictionary(fc.string(), leaf)), source, transaction: leaf, ts_ms: leaf, status: leaf, id: leaf, ddl: leaf, historyRecord: leaf, message: leaf }, { requiredKeys: [] });
    fc.assert(fc.property(envelope, (payload) => {
      isDecodeError(() => decodeDebeziumMessage({ key: null, value: JSON.stringify(payload) }));
    }), { numRuns: 1000 });
  });
  it('arbitrary text and bytes never throw anything but DecodeError', () => {
    fc.assert(fc.property(fc.string(), fc.uint8Array(), (text, bytes) => {
      isDecodeError(() => decodeDebeziumMessage({ key: text, value: text, topic: 't', partition: 0, offset: '1' }));
      isDecodeError(() => decodeDebeziumMessage({ key: null, value: bytes }));
    }));
  });
});
