import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConversionError } from '../../src/errors';
import { compileConverters } from '../../src/transform';

const zone = (name: string) => compileConverters([{ timezone: name }]);
const ZONES = ['America/Chicago', 'Europe/Berlin', 'Asia/Kolkata', 'Australia/Lord_Howe', 'UTC', 'America/Sao_Paulo'];

/** Known transitions (UTC seconds): the properties probe densely around them. */
const TRANSITIONS = [
  '2024-03-10T08:00:00Z', '2024-11-03T07:00:00Z', // Chicago
  '2024-03-31T01:00:00Z', '2024-10-27T01:00:00Z', // Berlin
  '2024-04-06T15:00:00Z', '2024-10-05T15:30:00Z', // Lord Howe (30-minute DST)
  '1942-08-31T18:30:00Z', '1945-10-14T17:30:00Z', // Kolkata war time
  '1970-04-26T07:00:00Z', '2007-03-11T08:00:00Z',
].map((t) => Date.parse(t) / 1000);

const nearTransition = fc.tuple(fc.constantFrom(...TRANSITIONS), fc.integer({ min: -4 * 3600, max: 4 * 3600 })).map(([t, d]) => t + d);
const anyTime = fc.integer({ min: Date.parse('1890-01-01T00:00:00Z') / 1000, max: Date.parse('2100-01-01T00:00:00Z') / 1000 });
const fraction = fc.oneof(fc.constant(''), fc.integer({ min: 0, max: 999_999 }).map((n) => `.${String(n).padStart(6, '0')}`));
const instant = fc.tuple(fc.oneof(nearTransition, anyTime), fraction)
  .map(([s, f]) => `${new Date(s * 1000).toISOString().slice(0, 19)}${f}Z`);

describe('timezone converter', () => {
  it('converts local time to the UTC instant and back, keeping microseconds', () => {
    const berlin = zone('Europe/Berlin');
    expect(berlin.forward('2024-07-01T12:00:00.123456')).toBe('2024-07-01T10:00:00.123456Z');
    expect(berlin.forward('2024-01-15 08:30:00')).toBe('2024-01-15T07:30:00Z');
    expect(berlin.backward('2024-07-01T10:00:00.123456Z')).toBe('2024-07-01T12:00:00.123456');
    expect(berlin.backward('2024-07-01T12:00:00+02:00')).toBe('2024-07-01T12:00:00');
    expect(zone('Asia/Kolkata').forward('2024-01-01T00:00:00')).toBe('2023-12-31T18:30:00Z');
    expect(zone('Asia/Kolkata').backward('2024-01-01T00:00:00Z')).toBe('2024-01-01T05:30:00');
  });

  it('reads an ambiguous local time (clocks go back) with the earlier offset', () => {
    expect(zone('America/Chicago').forward('2024-11-03T01:30:00')).toBe('2024-11-03T06:30:00Z'); // CDT
    expect(zone('America/Chicago').backward('2024-11-03T07:30:00Z')).toBe('2024-11-03T01:30:00'); // CST, second pass
    expect(zone('Europe/Berlin').forward('2024-10-27T02:30:00')).toBe('2024-10-27T00:30:00Z');
    expect(zone('Australia/Lord_Howe').forward('2024-04-07T01:45:00')).toBe('2024-04-06T14:45:00Z'); // +11, not +10:30
  });

  it('reads a nonexistent local time (clocks go forward) with the earlier offset, landing after the gap', () => {
    expect(zone('America/Chicago').forward('2024-03-10T02:30:00')).toBe('2024-03-10T08:30:00Z'); // = 03:30 CDT
    expect(zone('Europe/Berlin').forward('2024-03-31T02:15:00')).toBe('2024-03-31T01:15:00Z'); // = 03:15 CEST
    expect(zone('Australia/Lord_Howe').forward('2024-10-06T02:15:00')).toBe('2024-10-05T15:45:00Z'); // = 02:45 +11
  });

  it('refuses what is not a timestamp, naming it', () => {
    const berlin = zone('Europe/Berlin');
    for (const bad of ['2024-02-30T00:00:00', '2024-01-01T24:00:00', '2024-01-01T12:00', '2024-01-01', 'soon', '2024-01-01T12:00:00Z']) {
      expect(() => berlin.forward(bad)).toThrow(ConversionError);
    }
    expect(() => berlin.forward('soon')).toThrow(/"soon"/);
    expect(() => berlin.backward('2024-01-01T12:00:00')).toThrow(ConversionError);
    expect(() => berlin.forward(1_700_000_000_000)).toThrow(ConversionError);
  });

  for (const name of ZONES) {
    const c = zone(name);
    it(`${name}: backward ∘ forward is the identity on local times`, () => {
      fc.assert(fc.property(instant, (utc) => {
        const local = c.backward(utc);
        return c.backward(c.forward(local)) === local;
      }), { numRuns: 500 });
    });

    it(`${name}: forward ∘ backward is the identity on instants, but for the second pass of an ambiguous hour`, () => {
      fc.assert(fc.property(instant, (utc) => {
        const local = c.backward(utc);
        const back = c.forward(local) as string;
        // The second pass of a repeated hour comes back as the first, the earlier instant with the same wall time.
        return back === utc || (Date.parse(back) < Date.parse(utc) && c.backward(back) === local);
      }), { numRuns: 500 });
    });
  }

  it('the earlier-twin exception happens only in a fold', () => {
    const chicago = zone('America/Chicago');
    expect(chicago.forward(chicago.backward('2024-11-03T07:30:00Z'))).toBe('2024-11-03T06:30:00Z');
    expect(chicago.forward(chicago.backward('2024-11-03T08:30:00Z'))).toBe('2024-11-03T08:30:00Z');
  });
});
