/**
 * Replication origins tagging tandem's writes on PostgreSQL targets.
 *
 * PostgreSQL lets one session at a time hold an origin ("replication origin
 * … is already active for PID …"), so a pool of N connections, or several
 * tandem instances writing to one target, need N names. The first connection
 * takes the configured name, the others `<origin>:<n>`. Configured origins are
 * identifiers (`[a-z][a-z0-9_]*`), so the `:` suffix cannot clash with another
 * configured name.
 */

/** The name of the `n`th origin slot (0 is the configured name itself). */
export function originSlotName(origin: string, n: number): string {
  return n === 0 ? origin : `${origin}:${n}`;
}

/** Whether an origin seen in a change stream is one of tandem's slots for `origin`. */
export function isTandemOrigin(origin: string, seen: string | null): boolean {
  return seen !== null && (seen === origin || (seen.startsWith(`${origin}:`) && /^\d+$/.test(seen.slice(origin.length + 1))));
}
