/**
 * Date/time text (DateStyle=ISO) → the forms tandem carries. Pure string and
 * integer arithmetic: a JS Date only has milliseconds, PostgreSQL has
 * microseconds, so the fraction is carried through untouched (zone offsets
 * are whole seconds and never touch it).
 */

const TIMESTAMP = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?$/;
const TIMESTAMPTZ = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?([+-])(\d{2})(?::?(\d{2}))?(?::(\d{2}))?$/;

/** `2024-01-02 03:04:05.5` → `2024-01-02T03:04:05.5`. BC and ±infinity stay as sent. */
export function decodeTimestamp(text: string): string {
  return TIMESTAMP.test(text) ? text.replace(' ', 'T') : text;
}

/**
 * `2024-01-02 08:34:05.123456+05:30` → `2024-01-02T03:04:05.123456Z`. The
 * offset depends on the session TimeZone (historic zones even have seconds),
 * so normalising to UTC makes the same instant give the same text.
 */
export function decodeTimestamptz(text: string): string {
  const m = TIMESTAMPTZ.exec(text);
  if (!m) return text;
  const [, y, mo, d, h, mi, s, frac = '', sign, oh = '0', om = '0', os = '0'] = m;
  const offsetSeconds = (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om) * 60 + Number(os));
  const local = utcSeconds(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s));
  return `${formatUtcSeconds(local - offsetSeconds)}${frac}Z`;
}

function utcSeconds(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime() / 1000;
}

function formatUtcSeconds(seconds: number): string {
  const date = new Date(seconds * 1000);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const ymd = `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
  return `${ymd}T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
}
