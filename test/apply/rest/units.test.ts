import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildPayload, CircuitBreaker, parseRetryAfter, readPath, TokenBucket } from '../../../src/apply';
import { ApplyError } from '../../../src/errors';

describe('Retry-After', () => {
  const now = Date.parse('2025-03-01T12:00:00Z');
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 3 ', now)).toBe(3000);
  });
  it('reads an HTTP date, never negative', () => {
    expect(parseRetryAfter('Sat, 01 Mar 2025 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sat, 01 Mar 2025 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Saturday, 01-Mar-25 12:01:00 GMT', now)).toBe(60_000);
  });
  it('ignores what it cannot read', () => {
    for (const bad of [null, undefined, '', '-1', '1.5', 'soon', '+5']) expect(parseRetryAfter(bad as string, now)).toBeUndefined();
  });
});

describe('circuit breaker', () => {
  function breaker(threshold = 3, resetMs = 1000) {
    let t = 0;
    const changes: string[] = [];
    const b = new CircuitBreaker({ failureThreshold: threshold, resetMs, now: () => t, onStateChange: (f, to) => changes.push(`${f}->${to}`) });
    return { b, changes, advance: (ms: number) => (t += ms) };
  }

  it('opens after N consecutive failures, fails fast, half-opens after resetMs and closes on a successful trial', () => {
    const { b, changes, advance } = breaker();
    b.failure();
    b.failure();
    b.success(); // the count is of consecutive failures
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    b.failure();
    expect(b.state).toBe('open');
    expect(b.admit()).toEqual({ allowed: false, retryInMs: 1000 });
    advance(400);
    expect(b.admit()).toEqual({ allowed: false, retryInMs: 600 });
    advance(600);
    expect(b.state).toBe('half-open');
    expect(b.admit().allowed).toBe(true);
    expect(b.admit().allowed).toBe(false); // one trial at a time
    b.success();
    expect(b.state).toBe('closed');
    expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
  });

  it('a failed trial opens it again for another resetMs; a neutral answer frees the trial', () => {
    const { b, advance } = breaker(1, 500);
    b.failure();
    advance(500);
    expect(b.admit().allowed).toBe(true);
    b.neutral();
    expect(b.admit().allowed).toBe(true);
    b.failure();
    expect(b.state).toBe('open');
    advance(499);
    expect(b.admit().allowed).toBe(false);
    advance(1);
    expect(b.admit().allowed).toBe(true);
  });
});

describe('token bucket', () => {
  it('gives burst tokens at once, then ratePerSecond', () => {
    let t = 0;
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 3, now: () => t });
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
    expect(bucket.waitMs()).toBe(100);
    t += 50;
    expect(bucket.tryTake()).toBe(false);
    t += 50;
    expect(bucket.tryTake()).toBe(true);
    t += 10_000;
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
  });

  it('take() waits for tokens, in order, never more than the rate allows', async () => {
    let t = 0;
    const bucket = new TokenBucket({ ratePerSecond: 5, burst: 1, now: () => t, sleep: async (ms) => { t += ms; } });
    const times: number[] = [];
    await Promise.all(Array.from({ length: 6 }, () => bucket.take().then(() => times.push(t))));
    expect(times).toEqual([0, 200, 400, 600, 800, 1000]);
  });

  it('refuses nonsense settings', () => {
    expect(() => new TokenBucket({ ratePerSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => new TokenBucket({ ratePerSecond: 1, burst: 0 })).toThrow(RangeError);
  });
});

describe('payload from dotted property names', () => {
  it('nests dotted names and keeps plain ones', () => {
    expect(buildPayload({ name: 'Acme', 'billing.city': 'Lyon', 'billing.address.zip': '69001', qty: '2.50', none: null })).toEqual({
      name: 'Acme', billing: { city: 'Lyon', address: { zip: '69001' } }, qty: '2.50', none: null,
    });
  });

  it('refuses a path that is both a value and a parent', () => {
    expect(() => buildPayload({ a: 1, 'a.b': 2 })).toThrow(ApplyError);
    expect(() => buildPayload({ 'a..b': 1 })).toThrow(/empty segment/);
  });

  const segment = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/);
  const scalar = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
  /** Rows whose paths are prefix-free (no path is the parent of another). */
  const row = fc.uniqueArray(fc.array(segment, { minLength: 1, maxLength: 4 }), { maxLength: 12, selector: (p) => p.join('.') })
    .map((paths) => paths.filter((p, i) => !paths.some((q, j) => j !== i && q.length > p.length && p.every((s, k) => q[k] === s))))
    .chain((paths) => fc.tuple(fc.constant(paths), fc.array(scalar, { minLength: paths.length, maxLength: paths.length })))
    .map(([paths, values]) => Object.fromEntries(paths.map((p, i) => [p.join('.'), values[i]])));

  it('every value is found again at its path, and nothing else is there (property)', () => {
    fc.assert(fc.property(row, (flat) => {
      const nested = buildPayload(flat);
      for (const [path, value] of Object.entries(flat)) expect(readPath(nested, path)).toEqual(value);
      expect(leaves(nested).sort()).toEqual(Object.keys(flat).sort());
      // JSON round trip: what is sent is what was built.
      expect(JSON.parse(JSON.stringify(nested))).toEqual(nested);
    }), { numRuns: 300 });
  });

  it('the order of the row does not matter (property)', () => {
    fc.assert(fc.property(row, (flat) => {
      const reversed = Object.fromEntries(Object.entries(flat).reverse());
      expect(buildPayload(reversed)).toEqual(buildPayload(flat));
    }), { numRuns: 200 });
  });
});

function leaves(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0 && prefix !== '') return [prefix];
  return entries.flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}
