import { ConfigError, ConversionError } from '../errors';

/**
 * Local wall-clock timestamps of one IANA zone ⇄ UTC instants, as text.
 *
 * Offsets come from Intl.DateTimeFormat (the ICU zone database Node ships), so
 * DST rules and their history are the platform's. Fractions of a second are
 * carried through as text, untouched: offsets are whole seconds, and going
 * through Date would cut microseconds to milliseconds.
 *
 * Local times that occur twice (clocks go back) or never (clocks go forward)
 * take the offset in force *before* the transition — the "earlier offset":
 * - ambiguous 01:30 on a fall-back night → the first 01:30 (summer time), the
 *   earlier of the two instants;
 * - nonexistent 02:30 on a spring-forward night → read with the winter offset,
 *   so it lands after the gap (03:30 summer time), as PostgreSQL and
 *   java.time do.
 * So local → UTC → local is the identity for every local time that exists,
 * and UTC → local → UTC is the identity except for the second pass of an
 * ambiguous hour, which comes back as the first.
 */

export interface ZoneConverter {
  /** 'YYYY-MM-DD[T ]HH:MM:SS[.f]' local time → 'YYYY-MM-DDTHH:MM:SS[.f]Z'. */
  toUtc(local: string): string;
  /** 'YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM)' → local 'YYYY-MM-DDTHH:MM:SS[.f]'. */
  toLocal(instant: string): string;
}

interface Stamp {
  /** Whole seconds since the epoch, of the wall clock read as if it were UTC. */
  seconds: number;
  /** Fraction digits as written, without the dot ('' when none). */
  fraction: string;
}

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
const DAY = 86_400;

export function zoneConverter(zone: string): ZoneConverter {
  const offsetAt = offsetFunction(zone);
  return {
    toUtc(local) {
      const stamp = parseStamp(local, LOCAL, zone);
      return `${formatSeconds(stamp.seconds - localOffset(stamp.seconds, offsetAt), stamp.fraction)}Z`;
    },
    toLocal(instant) {
      const match = INSTANT.exec(instant);
      const stamp = parseStamp(instant, INSTANT, zone);
      const utc = stamp.seconds - explicitOffset(match?.[8] ?? 'Z');
      return formatSeconds(utc + offsetAt(utc), stamp.fraction);
    },
  };
}

/** The offset (seconds east of UTC) that turns `wall` into an instant; see the file comment for gaps and folds. */
function localOffset(wall: number, offsetAt: (utc: number) => number): number {
  // At most one transition is assumed within a day either side: true of every zone in use.
  const before = offsetAt(wall - DAY);
  const after = offsetAt(wall + DAY);
  const fits = (offset: number): boolean => offsetAt(wall - offset) === offset;
  if (fits(before)) return before;
  if (fits(after)) return after;
  const here = offsetAt(wall);
  return fits(here) ? here : before;
}

/** utc seconds → offset seconds, through a cached formatter of the zone. */
function offsetFunction(zone: string): (utc: number) => number {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', era: 'short',
      year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
  } catch (cause) {
    throw new ConfigError(`unknown time zone "${zone}" (expected an IANA name such as Europe/Berlin)`, {}, { cause });
  }
  return (utc) => {
    const parts = Object.fromEntries(format.formatToParts(new Date(utc * 1000)).map((p) => [p.type, p.value]));
    const year = parts.era === 'BC' ? 1 - Number(parts.year) : Number(parts.year);
    const wall = wallSeconds(year, Number(parts.month), Number(parts.day), Number(parts.hour) % 24, Number(parts.minute), Number(parts.second));
    return wall - utc;
  };
}

function parseStamp(text: string, pattern: RegExp, zone: string): Stamp {
  const match = pattern.exec(text);
  if (!match) throw badStamp(text, zone, pattern === LOCAL ? 'YYYY-MM-DDTHH:MM:SS[.ffffff]' : 'YYYY-MM-DDTHH:MM:SS[.ffffff]Z');
  const [y, mo, d, h, mi, s] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const seconds = wallSeconds(y, mo, d, h, mi, s);
  if (formatSeconds(seconds, '') !== `${match.slice(1, 4).join('-')}T${match.slice(4, 7).join(':')}`) {
    throw badStamp(text, zone, 'a real calendar date and time of day');
  }
  return { seconds, fraction: match[7] ?? '' };
}

/** Seconds since the epoch of a UTC calendar time; setUTCFullYear because Date.UTC maps years 0–99 to 1900–1999. */
function wallSeconds(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime() / 1000;
}

function formatSeconds(seconds: number, fraction: string): string {
  const iso = new Date(seconds * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z for years 0–9999
  return `${iso.slice(0, 19)}${fraction ? `.${fraction}` : ''}`;
}

function explicitOffset(text: string): number {
  if (text === 'Z') return 0;
  const sign = text.startsWith('-') ? -1 : 1;
  return sign * (Number(text.slice(1, 3)) * 3600 + Number(text.slice(4, 6)) * 60);
}

function badStamp(text: string, zone: string, expected: string): ConversionError {
  return new ConversionError(`${JSON.stringify(text)} is not a timestamp for zone ${zone}: expected ${expected}`);
}
