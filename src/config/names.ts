/** Table names as config keys them: a leaf of config (no spec, no connectors), importable from anywhere without a cycle. */

/** `table` with the `public` schema when it names none. */
export function qualified(table: string): string {
  return table.includes('.') ? table : `public.${table}`;
}
