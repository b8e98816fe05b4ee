/**
 * A label value as exported: never empty. A series with an empty label value
 * is the same as one without the label in PromQL, which silently merges it
 * with others in a `sum by`; values read from the state store pass here.
 */
export function labelValue(value: string | null | undefined): string {
  return value === null || value === undefined || value === '' ? 'unknown' : value;
}
