/**
 * Debezium's temporal encodings → the text native capture produces
 * (PostgreSQL's ISO output): `YYYY-MM-DD`, `HH:MM:SS[.fraction]`,
 * `YYYY-MM-DDTHH:MM:SS[.fraction]` for local timestamps and the same in UTC
 * with `Z` for instants. Fractions are printed without trailing zeros, as
 * PostgreSQL prints them, and never rounded: integer arithmetic on bigint,
 * because a JS Date only has milliseconds and nanosecond counts since 1970
 * exceed 2^53.
 */

const pad = (n: bigint | number, width = 2): string => String(n).padStart(width, '0');

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** Days since 1970-01-01 → proleptic Gregorian y/m/d (H. Hinnant's civil_from_days). */
export function civilFromDays(days: bigint): { year: bigint; month: number; day: number } {
  const z = days + 719468n;
  const era = floorDiv(z, 146097n);
  const doe = z - era * 146097n;
  const yoe = (doe - doe / 1460n + doe / 36524n - doe / 146096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const day = Number(doy - (153n * mp + 2n) / 5n + 1n);
  const month = Number(mp < 10n ? mp + 3n : mp - 9n);
  const year = yoe + era * 400n + (month <= 2 ? 1n : 0n);
  return { year, month, day };
}

/**
 * Years before 1 AD print as PostgreSQL prints them: year 0 is 1 BC, with
 * ' BC' after the value (`0044-03-15 BC`), which PostgreSQL accepts back.
 */
function bcSuffix(year: bigint): string {
  return year <= 0n ? ' BC' : '';
}

function formatYmd(year: bigint, month: number, day: number): string {
  return `${pad(year <= 0n ? 1n - year : year, 4)}-${pad(month)}-${pad(day)}`;
}

/** `io.debezium.time.Date`, `org.apache.kafka.connect.data.Date`: days since the epoch. */
export function formatDate(days: bigint): string {
  const { year, month, day } = civilFromDays(days);
  return `${formatYmd(year, month, day)}${bcSuffix(year)}`;
}

/** A fraction of `digits` digits, trailing zeros dropped, with its dot; '' when zero. */
function fraction(units: bigint, digits: number): string {
  if (units === 0n || digits === 0) return '';
  return `.${pad(units, digits).replace(/0+$/, '')}`;
}

const DIGITS: Record<string, number> = { '1000': 3, '1000000': 6, '1000000000': 9 };

/** Count of `unitsPerSecond` since midnight → `HH:MM:SS[.f]`; hours are not wrapped (PostgreSQL allows 24:00:00). */
export function formatTimeOfDay(value: bigint, unitsPerSecond: bigint): string {
  const seconds = floorDiv(value, unitsPerSecond);
  const sub = value - seconds * unitsPerSecond;
  const h = seconds / 3600n;
  const m = (seconds % 3600n) / 60n;
  const s = seconds % 60n;
  return `${pad(h)}:${pad(m)}:${pad(s)}${fraction(sub, DIGITS[String(unitsPerSecond)] ?? 0)}`;
}

/**
 * Count of `unitsPerSecond` since the epoch → `YYYY-MM-DDTHH:MM:SS[.f]` (no
 * zone: wall-clock time), `zone` (e.g. 'Z') appended to the time, before a
 * ' BC' suffix.
 */
export function formatLocalTimestamp(value: bigint, unitsPerSecond: bigint, zone = ''): string {
  const seconds = floorDiv(value, unitsPerSecond);
  const sub = value - seconds * unitsPerSecond;
  const days = floorDiv(seconds, 86400n);
  const secondOfDay = seconds - days * 86400n;
  const { year, month, day } = civilFromDays(days);
  return `${formatYmd(year, month, day)}T${formatTimeOfDay(secondOfDay * unitsPerSecond + sub, unitsPerSecond)}${zone}${bcSuffix(year)}`;
}

const ZONED = /^([+-]?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2}(?::\d{2})?)$/;

/** Days since the epoch of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: bigint, month: number, day: number): bigint {
  const y = month <= 2 ? year - 1n : year;
  const era = floorDiv(y, 400n);
  const yoe = y - era * 400n;
  const mp = BigInt((month + 9) % 12);
  const doy = (153n * mp + 2n) / 5n + BigInt(day) - 1n;
  const doe = yoe * 365n + yoe / 4n - yoe / 100n + doy;
  return era * 146097n + doe - 719468n;
}

/**
 * `io.debezium.time.ZonedTimestamp` (ISO-8601 with offset) → the same instant
 * in UTC with `Z`, fraction without trailing zeros: what native capture makes
 * of timestamptz. SQL Server datetimeoffset keeps its offset in Debezium's text;
 * normalising means equal instants give equal text. Null when not ISO-8601.
 */
export function normalizeZonedTimestamp(text: string): string | null {
  const m = ZONED.exec(text);
  if (!m) return null;
  const [, y = '0', mo = '1', d = '1', h = '0', mi = '0', s = '0', frac = '', zone = 'Z'] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 24 || Number(mi) > 59 || Number(s) > 60) return null;
  let offset = 0n;
  if (zone !== 'Z') {
    const [oh = '0', om = '0', os = '0'] = zone.slice(1).split(':');
    offset = (zone.startsWith('-') ? -1n : 1n) * BigInt(Number(oh) * 3600 + Number(om) * 60 + Number(os));
  }
  const local = daysFromCivil(BigInt(y), month, day) * 86400n + BigInt(Number(h) * 3600 + Number(mi) * 60 + Number(s));
  const nanos = BigInt(frac.padEnd(9, '0') || '0');
  return formatLocalTimestamp((local - offset) * 1_000_000_000n + nanos, 1_000_000_000n, 'Z');
}

const ZONED_TIME = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2}(?::\d{2})?)$/;

/** `io.debezium.time.ZonedTime` (`HH:MM:SS[.f]Z`, Debezium normalises to UTC): trailing zeros of the fraction dropped. */
export function normalizeZonedTime(text: string): string | null {
  const m = ZONED_TIME.exec(text);
  if (!m) return null;
  const [, h, mi, s, frac = '', zone] = m;
  const f = frac.replace(/0+$/, '');
  return `${h}:${mi}:${s}${f ? `.${f}` : ''}${zone}`;
}
