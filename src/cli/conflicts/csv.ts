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

/** One CSV line (RFC 4180): JSON values as JSON text, so a string "1" and a number 1 stay apart. */
export function csvLine(row: ConflictRow): string {
  const object = exportObject(row);
  return EXPORT_COLUMNS.map((column) => {
    const value = object[column];
    if (JSON_COLUMNS.has(column)) return csvField(JSON.stringify(value ?? null));
    return csvField(value === null || value === undefined ? '' : String(value));
  }).join(',') + '\r\n';
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
