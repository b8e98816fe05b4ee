import type mysql from 'mysql2/promise';
import { connectMysql, convertMysqlValue, loadMysqlTables, quoteMysqlIdent, type MysqlTableInfo, type Row } from '../capture';
import { CompareError } from '../errors';
import type { Mapping } from '../transform';
import { chunks, LOOKUP_BATCH, type KeyCursor, type Page, type TableReader } from './reader';

/** A MySQL/MariaDB table read with the connection settings and value conversion of capture's snapshot. */
export class MysqlTableReader implements TableReader {
  private constructor(
    readonly system: string,
    readonly mapping: Mapping,
    private readonly conn: mysql.Connection,
    private readonly info: MysqlTableInfo,
  ) {}

  static async open(system: string, mapping: Mapping, url: string): Promise<MysqlTableReader> {
    const conn = await connectMysql(url);
    try {
      const info = (await loadMysqlTables(conn, [`${mapping.schema}.${mapping.tableName}`])).get(`${mapping.schema}.${mapping.tableName}`)!;
      const names = new Set(info.columns.map((c) => c.name));
      const missing = [...mapping.keyColumns, ...mapping.fields.map((f) => f.column)].filter((c) => !names.has(c));
      if (missing.length > 0) throw new CompareError(`table ${mapping.table} of ${system} has no column ${missing.join(', ')}`, { system, table: mapping.table });
      return new MysqlTableReader(system, mapping, conn, info);
    } catch (error) {
      await conn.end().catch(() => undefined);
      if (error instanceof CompareError) throw error;
      throw new CompareError(`cannot read table ${mapping.table} of ${system}: ${(error as Error).message}`, { system, table: mapping.table }, { cause: error });
    }
  }

  private get quotedTable(): string {
    return `${quoteMysqlIdent(this.mapping.schema)}.${quoteMysqlIdent(this.mapping.tableName)}`;
  }

  /** FLOAT read as DOUBLE, as the snapshot does: the text of a FLOAT is rounded to 6 digits. */
  private get selectList(): string {
    return this.info.columns
      .map((c) => (c.type.kind === 'float' ? `CAST(${quoteMysqlIdent(c.name)} AS DOUBLE) AS ${quoteMysqlIdent(c.name)}` : quoteMysqlIdent(c.name)))
      .join(', ');
  }

  async page(after: KeyCursor | null, limit: number): Promise<Page> {
    const keys = this.mapping.keyColumns.map(quoteMysqlIdent);
    let sql = `SELECT ${this.selectList} FROM ${this.quotedTable}`;
    const params: unknown[] = [];
    if (after) {
      sql += ` WHERE (${keys.join(', ')}) > (${keys.map(() => '?').join(', ')})`;
      params.push(...after);
    }
    sql += ` ORDER BY ${keys.join(', ')} LIMIT ${limit}`;
    const [raw] = await this.conn.query<mysql.RowDataPacket[]>(sql, params);
    const last = raw[raw.length - 1];
    return { rows: raw.map((r) => this.toRow(r)), next: raw.length < limit || !last ? null : this.mapping.keyColumns.map((c) => last[c]) };
  }

  async byLocalKeys(localKeys: readonly string[]): Promise<Map<string, Row>> {
    const found = new Map<string, Row>();
    const columns = this.mapping.keyColumns;
    for (const batch of chunks([...new Set(localKeys)], LOOKUP_BATCH)) {
      const tuples = batch.map((k) => {
        const keyRow = this.mapping.keyRow(k);
        return columns.map((c) => keyRow[c] ?? null);
      });
      const where = columns.length === 1 ? `${quoteMysqlIdent(columns[0]!)} IN (?)` : `(${columns.map(quoteMysqlIdent).join(', ')}) IN (?)`;
      const [raw] = await this.conn.query<mysql.RowDataPacket[]>(`SELECT ${this.selectList} FROM ${this.quotedTable} WHERE ${where}`, [
        columns.length === 1 ? tuples.map((t) => t[0]) : tuples,
      ]);
      for (const r of raw) {
        const row = this.toRow(r);
        found.set(this.mapping.localKeyOf(row), row);
      }
    }
    return found;
  }

  private toRow(raw: mysql.RowDataPacket): Row {
    const row: Row = {};
    for (const column of this.info.columns) row[column.name] = convertMysqlValue(raw[column.name], column.type);
    return row;
  }

  async close(): Promise<void> {
    await this.conn.end().catch(() => undefined);
  }
}
