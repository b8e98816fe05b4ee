/**
 * The SQL Server dialect of SqlTarget without a server: knex's mssql client
 * compiles the statements; its driver calls are replaced by a recorder.
 */
import knex, { type Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { bindableRow, hasZonedInstants, nullSafeEquals, sqlServerLocking, sqlServerRowsPerStatement } from '../../src/apply/sql-dialect';
import { isTransientDbError, toApplyError } from '../../src/apply/sql-errors';
import { deleteRows, insertRows, lockRows } from '../../src/apply/sql-bulk-rows';
import { insertRow, lockMatchingRows, lockRow, type TableScope } from '../../src/apply/sql-rows';
import { toSqlServerDateTime } from '../../src/apply/sql-values';
import { mappingSpec } from '../../src/config/spec';
import { compileMapping } from '../../src/transform';

interface Sent {
  sql: string;
  bindings: unknown[];
}

/** A knex mssql instance whose statements are recorded and answered with `answer(sql)`. */
function recordingKnex(answer: (sql: string) => unknown[] = () => []): { db: Knex; sent: Sent[] } {
  const db = knex({ client: 'mssql', connection: { server: 'unused', database: 'erp' } });
  const sent: Sent[] = [];
  const client = db.client as unknown as Record<string, unknown>;
  client['acquireConnection'] = async () => ({ __knexUid: 'fake' });
  client['releaseConnection'] = async () => undefined;
  client['_query'] = async (_conn: unknown, query: { sql: string; bindings: unknown[]; response?: unknown }) => {
    sent.push({ sql: query.sql.replace(/@p\d+/g, '?'), bindings: query.bindings ?? [] }); // knex numbers the placeholders
    // knex's mssql processResponse expects tedious rows: arrays of { metadata: { colName }, value }.
    query.response = answer(query.sql).map((row) => Object.entries(row as Record<string, unknown>).map(([colName, value]) => ({ metadata: { colName }, value })));
    return query;
  };
  return { db, sent };
}

const mapping = (key: string[] = ['cust_no'], generated: 'none' | 'database' = 'none') =>
  compileMapping(mappingSpec.parse({
    system: 'erp', table: 'dbo.customers', entity: 'customer', key: { columns: key, generated },
    fields: { number: 'cust_no', site: 'site', name: 'name', credit: 'credit', updated_at: 'updated_at' },
  }));

const scopeOf = (db: Knex, m = mapping()): TableScope => ({ trx: db as unknown as Knex.Transaction, type: 'sqlserver', mapping: m });

const catalog = (sql: string) =>
  sql.includes('sys.columns')
    ? [{ name: 'cust_no', type: 'nvarchar' }, { name: 'site', type: 'int' }, { name: 'credit', type: 'decimal' }, { name: 'updated_at', type: 'datetime2' }, { name: 'id', type: 'int' }]
    : [];

describe('SqlTarget SQL Server dialect', () => {
  it('locks rows with UPDLOCK, ROWLOCK and reads column kinds from the catalog', async () => {
    const { db, sent } = recordingKnex((sql) => (sql.includes('sys.columns') ? catalog(sql) : [{ cust_no: 'C1', credit: 12.5, updated_at: new Date('2024-03-01T10:00:00Z') }]));
    const locked = await lockRow(scopeOf(db), ['credit', 'updated_at'], { cust_no: 'C1' });
    expect(sent[0]!.sql).toBe('select [credit], [updated_at] from [dbo].[customers] with (UPDLOCK, ROWLOCK) where [cust_no] = ?');
    expect(sent[1]!.sql).toContain('FROM sys.columns');
    expect(sent[1]!.bindings).toEqual(['[dbo].[customers]']);
    expect(locked!.kinds.get('credit')).toBe('decimal');
    expect(locked!.kinds.get('updated_at')).toBe('instant');
    expect(locked!.kinds.get('cust_no')).toBe('other');
    await db.destroy();
  });

  it('database-generated keys come back through OUTPUT inserted.*', async () => {
    const { db, sent } = recordingKnex((sql) => (sql.startsWith('insert') ? [{ id: 42 }] : catalog(sql)));
    const row = await insertRow(scopeOf(db, mapping(['id'], 'database')), { name: 'Acme', updated_at: '2024-05-01T10:00:00.5+02:00' }, ['id'], async () => 'mysql');
    expect(row).toEqual({ id: 42 });
    const insert = sent.find((s) => s.sql.startsWith('insert'))!;
    expect(insert.sql).toBe('insert into [dbo].[customers] ([name], [updated_at]) output inserted.[id] values (?, ?)');
    // The zoned instant is bound as UTC text for the datetime2 column.
    expect(insert.bindings).toEqual(['Acme', '2024-05-01T08:00:00.5']);
    await db.destroy();
  });

  it('composite keys: (a = ? AND b = ?) OR … instead of a row-value IN', async () => {
    // knex appends `select @@rowcount` to a delete and reads it from the unnamed column.
    const { db, sent } = recordingKnex((sql) => (sql.startsWith('delete') ? [{ '': 1 }] : catalog(sql)));
    const scope = scopeOf(db, mapping(['cust_no', 'site']));
    await lockRows(scope, ['name'], [{ cust_no: 'C1', site: 1 }, { cust_no: 'C2', site: 2 }]);
    expect(sent[0]!.sql).toBe(
      'select [cust_no], [site], [name] from [dbo].[customers] with (UPDLOCK, ROWLOCK)' +
        ' where (([cust_no] = ? and [site] = ?) or ([cust_no] = ? and [site] = ?)) order by [cust_no] asc, [site] asc',
    );
    await deleteRows(scope, [{ cust_no: 'C1', site: 1 }]);
    expect(sent.at(-1)!.sql).toMatch(/^delete from \[dbo\]\.\[customers\] where \(\(\[cust_no\] = \? and \[site\] = \?\)\)/);
    await db.destroy();
  });

  it('multi-row inserts stay under 2100 parameters', async () => {
    const { db, sent } = recordingKnex(catalog);
    const rows = Array.from({ length: 900 }, (_, i) => ({ cust_no: `C${i}`, name: 'n', credit: '1.50' }));
    await insertRows(scopeOf(db), rows);
    expect(sqlServerRowsPerStatement(3)).toBe(666);
    expect(sent.map((s) => s.bindings.length)).toEqual([1998, 702]);
    expect(sent[0]!.bindings.slice(0, 3)).toEqual(['1.50', 'C0', 'n']); // decimals bound as exact text
    await db.destroy();
  });

  it('NULL matches NULL when adopting rows', async () => {
    const { db, sent } = recordingKnex(catalog);
    await lockMatchingRows(scopeOf(db, mapping(['id'], 'database')), ['id'], { name: 'Acme', credit: null }, 10);
    expect(sent[0]!.sql).toBe('select top (?) [id] from [dbo].[customers] with (UPDLOCK, ROWLOCK) where [name] = ? and [credit] is null order by [id] asc');
    await db.destroy();
  });

  it('binds values: JSON as text, zoned instants as UTC text for instant columns', () => {
    const kinds = new Map([['at', 'instant' as const], ['note', 'other' as const]]);
    expect(bindableRow('sqlserver', { at: '2024-03-01T12:30:00.1234567+02:30', note: '2024-03-01T12:30:00+02:00', doc: { a: [1] }, n: '12.50' }, kinds)).toEqual({
      at: '2024-03-01T10:00:00.1234567', note: '2024-03-01T12:30:00+02:00', doc: '{"a":[1]}', n: '12.50',
    });
    expect(hasZonedInstants('sqlserver', { at: '2024-03-01T10:00:00Z' })).toBe(true);
    expect(hasZonedInstants('sqlserver', { at: '2024-03-01T10:00:00' })).toBe(false);
    expect(toSqlServerDateTime('2024-03-01T10:00:00.000Z')).toBe('2024-03-01T10:00:00');
    expect(toSqlServerDateTime('not a date')).toBe('not a date');
    expect(nullSafeEquals('sqlserver')).toBe('=');
    expect(sqlServerLocking('select 1 from [t] with (UPDLOCK) where 1 = 1')).toBe('select 1 from [t] with (UPDLOCK, ROWLOCK) where 1 = 1');
  });

  it('classifies errors: deadlocks and timeouts retry, constraint violations do not', () => {
    const requestError = (number: number, code = 'EREQUEST') => Object.assign(new Error(`error ${number}`), { name: 'RequestError', code, number });
    expect(isTransientDbError(requestError(1205))).toBe(true);
    expect(isTransientDbError(requestError(1222))).toBe(true);
    expect(isTransientDbError(Object.assign(new Error('Timeout: Request failed to complete in 15000ms'), { name: 'RequestError', code: 'ETIMEOUT' }))).toBe(true);
    expect(isTransientDbError(Object.assign(new Error('Connection lost'), { name: 'ConnectionError', code: 'ESOCKET' }))).toBe(true);
    expect(isTransientDbError({ message: 'wrapped', originalError: { info: { number: 1205 } } })).toBe(true);
    for (const n of [2627, 2601, 547, 207, 8152]) expect(isTransientDbError(requestError(n))).toBe(false);
    const where = { system: 'erp', table: 'dbo.customers', entity: 'customer', key: 'k', correlationId: 'c' };
    expect(toApplyError(requestError(2627), where).retriable).toBe(false);
    expect(toApplyError(requestError(1205), where).retriable).toBe(true);
  });
});
