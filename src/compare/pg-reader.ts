import pg from 'pg';
import { decodePgValue, PG_RAW_TEXT_TYPES, PG_SESSION_OPTIONS, type Row } from '../capture';
import { CompareError } from '../errors';
import type { Mapping } from '../transform';
import { chunks, LOOKUP_BATCH, type KeyCursor, type Page, type TableReader } from './reader';

/** A PostgreSQL table read as text and decoded by capture's decoder. */
export class PgTableReader implements TableReader {
  private constructor(
    readonly system: string,
    readonly mapping: Mapping,
    readonly client: pg.Client,
    /** Column → SQL type (format_type), for casts of key parameters. */
    readonly columnTypes: ReadonlyMap<string, string>,
  ) {}

  static async open(system: string, mapping: Mapping, url: string): Promise<PgTableReader> {
    const client = new pg.Client({ connectionString: url, options: PG_SESSION_OPTIONS, application_name: 'tandem-compare' });
    client.on('error', () => undefined); // surfaced by the pending query
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string; type: string }>(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
         WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        [`${pg.escapeIdentifier(mapping.schema)}.${pg.escapeIdentifier(mapping.tableName)}`],
      );
      const types = new Map(rows.map((r) => [r.name, r.type]));
      const missing = [...mapping.keyColumns, ...mapping.fields.map((f) => f.column)].filter((c) => !types.has(c));
      if (missing.length > 0) throw new CompareError(`table ${mapping.table} of ${system} has no column ${missing.join(', ')}`, { system, table: mapping.table });
      return new PgTableReader(system, mapping, client, types);
    } catch (error) {
      await client.end().catch(() => undefined);
      if (error instanceof CompareError) throw error;
      throw new CompareError(`cannot read table ${mapping.table} of ${system}: ${(error as Error).message}`, { system, table: mapping.table }, { cause: error });
    }
  }

  get quotedTable(): string {
    return `${pg.escapeIdentifier(this.mapping.schema)}.${pg.escapeIdentifier(this.mapping.tableName)}`;
  }

  keyType(column: string): string {
    return this.columnTypes.get(column)!;
  }

  async page(after: KeyCursor | null, limit: number): Promise<Page> {
    const keys = this.mapping.keyColumns.map((c) => pg.escapeIdentifier(c));
    const params: unknown[] = [];
    let where = '';
    if (after) {
      where = `WHERE (${keys.join(', ')}) > (${this.mapping.keyColumns.map((c, i) => `$${i + 1}::${this.keyType(c)}`).join(', ')})`;
      params.push(...after);
    }
    const text = `SELECT * FROM ${this.quotedTable} ${where} ORDER BY ${keys.join(', ')} LIMIT ${limit}`;
    const { rows, raw } = await this.select(text, params);
    const last = raw[raw.length - 1];
    return { rows, next: rows.length < limit || !last ? null : this.mapping.keyColumns.map((c) => last[c]) };
  }

  async byLocalKeys(localKeys: readonly string[]): Promise<Map<string, Row>> {
    const found = new Map<string, Row>();
    for (const batch of chunks([...new Set(localKeys)], LOOKUP_BATCH)) {
      const keyRows = batch.map((k) => this.mapping.keyRow(k));
      const columns = this.mapping.keyColumns;
      const arrays = columns.map((c) => keyRows.map((r) => (r[c] === null || r[c] === undefined ? null : String(r[c]))));
      const casts = columns.map((c, i) => `$${i + 1}::${this.keyType(c)}[]`);
      const where = columns.length === 1
        ? `${pg.escapeIdentifier(columns[0]!)} = ANY(${casts[0]})`
        : `(${columns.map((c) => pg.escapeIdentifier(c)).join(', ')}) IN (SELECT * FROM unnest(${casts.join(', ')}))`;
      const { rows } = await this.select(`SELECT * FROM ${this.quotedTable} WHERE ${where}`, arrays);
      for (const row of rows) found.set(this.mapping.localKeyOf(row), row);
    }
    return found;
  }

  /** Runs a query whose result columns are table columns: decoded rows and the raw text. */
  async select(text: string, params: unknown[]): Promise<{ rows: Row[]; raw: Array<Record<string, string | null>> }> {
    const result = await this.client.query<Array<string | null>>({ text, values: params, rowMode: 'array', types: PG_RAW_TEXT_TYPES });
    const rows: Row[] = [];
    const raw: Array<Record<string, string | null>> = [];
    for (const values of result.rows) {
      const row: Row = {};
      const text: Record<string, string | null> = {};
      result.fields.forEach((field, i) => {
        const value = values[i] ?? null;
        text[field.name] = value;
        row[field.name] = value === null ? null : decodePgValue(value, field.dataTypeID);
      });
      rows.push(row);
      raw.push(text);
    }
    return { rows, raw };
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
