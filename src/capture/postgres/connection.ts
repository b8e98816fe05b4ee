/**
 * Connection settings shared by the replication connection and the normal
 * ones (snapshot, heartbeat, admin): the same session settings make the
 * text form of every value the same in the snapshot and in the stream.
 */
import { Client, escapeIdentifier, type CustomTypesConfig } from 'pg';

/**
 * TimeZone=UTC so timestamptz text has a +00 offset (we normalise any offset
 * anyway); ISO dates; ISO 8601 intervals (the canonical form); extra_float_digits=3 for
 * round-trip exact floats; hex bytea.
 */
export const SESSION_OPTIONS = '-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=iso_8601 -c extra_float_digits=3 -c bytea_output=hex';

export function normalClient(connectionString: string, applicationName: string): Client {
  return new Client({ connectionString, options: SESSION_OPTIONS, application_name: applicationName });
}

/** Rows as arrays of raw text: values go through our decoder, not pg's type parsers. */
export const RAW_TEXT_TYPES = {
  getTypeParser: () => (value: string) => value,
} as unknown as CustomTypesConfig;

/** `schema.table` (or `table`, meaning `public.table`) → quoted SQL identifier. */
export function quoteTable(qualified: string): string {
  const [schema, table] = splitTable(qualified);
  return `${escapeIdentifier(schema)}.${escapeIdentifier(table)}`;
}

export function splitTable(qualified: string): [string, string] {
  const dot = qualified.indexOf('.');
  return dot < 0 ? ['public', qualified] : [qualified.slice(0, dot), qualified.slice(dot + 1)];
}

export function normaliseTable(qualified: string): string {
  return splitTable(qualified).join('.');
}
