/**
 * Date/time text (DateStyle=ISO) → the forms tandem carries. Pure string and
 * integer arithmetic: a JS Date only has milliseconds, PostgreSQL has
 * microseconds, so the fraction is carried through untouched (zone offsets
 * are whole seconds and never touch it).
 */

const TIMESTAMP = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?( BC)?$/;
const TIMESTAMPTZ = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?([+-])(\d{2})(?::?(\d{2}))?(?::(\d{2}))?( BC)?$/;

/** `2024-01-02 03:04:05.5` → `2024-01-02T03:04:05.5` (`… BC` keeps its suffix). ±infinity stay as sent. */
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
  const [, y, mo, d, h, mi, s, frac = '', sign, oh = '0', om = '0', os = '0', bc] = m;
  const offsetSeconds = (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om) * 60 + Number(os));
  // Year n BC is the astronomical year 1 - n.
  const year = bc ? 1 - Number(y) : Number(y);
  const local = utcSeconds(year, Number(mo), Number(d), Number(h), Number(mi), Number(s));
  const [ymd, hms, utcYear] = formatUtcSeconds(local - offsetSeconds);
  return `${ymd}T${hms}${frac}Z${utcYear <= 0 ? ' BC' : ''}`;
}

function utcSeconds(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime() / 1000;
}

/** [date (BC years as their number, the caller adds ' BC'), time, astronomical year]. */
function formatUtcSeconds(seconds: number): [string, string, number] {
  const date = new Date(seconds * 1000);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const year = date.getUTCFullYear();
  const ymd = `${pad(year <= 0 ? 1 - year : year, 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
  return [ymd, `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`, year];
}
