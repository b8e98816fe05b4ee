import type { ConflictRow } from '../../store';

/** Export columns, in order; the same names are the JSON export's keys. */
export const EXPORT_COLUMNS = [
  'id', 'loggedAt', 'correlationId', 'entity', 'key', 'field', 'system', 'table', 'position', 'txId', 'commitTime',
  'attempted', 'before', 'current', 'kept', 'rule', 'ruleVersion', 'rulesVersion', 'decision', 'corrected', 'patch', 'prevHash', 'hash',
] as const satisfies ReadonlyArray<keyof ConflictRow>;

const JSON_COLUMNS = new Set<string>(['attempted', 'before', 'current', 'kept', 'patch']);

/** A row as plain JSON: times as ISO text, values as they are. */
export function exportObject(row: ConflictRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const column of EXPORT_COLUMNS) {
    const value = row[column];
    out[column] = value instanceof Date ? value.toISOString() : value;
  }
  return out;
}

/**
 * One CSV line (RFC 4180) with plain values, as a spreadsheet should show
 * them: the decimal string "224300.00" is the field 224300.00, text is the
 * text itself, no value (or null) is an empty field; only objects and arrays
 * (and the patch) are JSON text. Which of "1" and 1 a system wrote is in the
 * JSON export.
 */
export function csvLine(row: ConflictRow): string {
  const object = exportObject(row);
  return EXPORT_COLUMNS.map((column) => csvField(JSON_COLUMNS.has(column) ? plainValue(object[column]) : scalarText(object[column]))).join(',') + '\r\n';
}

/** A logged value as plain text: scalars as they read, structures as JSON. */
export function plainValue(value: unknown): string {
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return scalarText(value);
}

function scalarText(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

export function csvHeader(): string {
  return EXPORT_COLUMNS.join(',') + '\r\n';
}

/** Quotes a field when it holds a comma, a quote or a line break; quotes inside are doubled. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Parses RFC 4180 CSV into rows of fields (for tests and for reading an export back). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}
