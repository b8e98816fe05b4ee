import { describe, expect, it } from 'vitest';
import { batchesOf, changeRowsOf, eventsOf, mergeRows } from '../../../src/capture/sqlserver/change-rows';
import { decodeSqlServerValue, float32 } from '../../../src/capture/sqlserver/decode-value';
import { eventPosition, lsnHex, parsePosition, snapshotPosition } from '../../../src/capture/sqlserver/lsn';
import { instancesFromRows, uncoveredColumns } from '../../../src/capture/sqlserver/metadata';
import { changesSql, selectColumn } from '../../../src/capture/sqlserver/queries';
import { parseSqlServerConnectionString } from '../../../src/capture/sqlserver/connection-string';
import { DecodeError } from '../../../src/errors';
import { loadRecording, resultSetOf } from './recorded-connection';

const ctx = { system: 'erp', database: 'testDB', nowMs: 1_700_000_000_000 };

function rowsOf(recording: string, instance: string) {
  const r = loadRecording(recording).results;
  const instances = instancesFromRows(resultSetOf(r['capture-instances']![0]!));
  return changeRowsOf(instances.get(instance)!, resultSetOf(r[`changes:${instance}`]![0]!));
}

describe('SQL Server value decoding (recorded all-types rows)', () => {
  it('decodes every common type exactly', () => {
    const [first, second] = eventsOf(rowsOf('all-types', 'dbo_all_types'), ctx);
    expect(first!.after).toEqual({
      id: 1, c_tinyint: 255, c_smallint: -32768, c_bigint: '9223372036854775807',
      c_decimal: '12345678901234567890123456.1234567890', c_numeric: '-0.5000',
      c_money: '922337203685477.5807', c_smallmoney: '-214748.3648',
      c_float: 3.141592653589793, c_real: 3.14, c_bit: true,
      c_char: 'ab   ', c_varchar: 'plain ascii', c_nvarchar: 'Grüße, 世界 😀 ‘quoted’',
      c_date: '2024-02-29', c_time: '23:59:59.9999999',
      c_datetime: '2024-03-01T10:00:00.997', c_smalldatetime: '2024-03-01T10:01:00',
      c_datetime2: '2024-03-01T10:00:00.1234567', c_datetimeoffset: '2024-03-01T10:00:00.1234567Z',
      c_uniqueidentifier: '6f9619ff-8b86-d011-b42d-00c04fc964ff', c_varbinary: '3q2+7wA=', c_null: null,
    });
    expect(second!.after).toMatchObject({
      c_decimal: '-0.0000000001', c_numeric: '0.0000', c_money: '0.0000', c_time: '00:00:00',
      c_datetime2: '0001-01-01T00:00:00.0000001', c_datetimeoffset: '9999-12-31T23:59:59.9999999Z',
      c_bit: false, c_real: -1.5, c_varbinary: '',
    });
  });

  it('refuses an exact numeric that reached JS as a double, and wrong driver types', () => {
    expect(() => decodeSqlServerValue(0.1, 'decimal', 't.c')).toThrow(DecodeError);
    expect(() => decodeSqlServerValue('x', 'datetime2', 't.c')).toThrow(/t\.c \(datetime2\)/);
    expect(decodeSqlServerValue('12.50', 'decimal')).toBe('12.50');
    expect(decodeSqlServerValue(null, 'int')).toBeNull();
    expect(float32(Math.fround(0.1))).toBe(0.1);
    expect(float32(Math.fround(16777217))).toBe(16777216);
  });

  it('converts exact numerics to text in the select list', () => {
    expect(selectColumn({ name: 'amt', type: 'decimal' }, 'c.')).toBe('CONVERT(varchar(50), c.[amt]) AS [amt]');
    expect(selectColumn({ name: 'm', type: 'money' })).toBe('CONVERT(varchar(30), [m], 2) AS [m]');
    expect(selectColumn({ name: 'odd]name', type: 'int' })).toBe('[odd]]name]');
    const { name, sql } = changesSql('dbo_customers', [{ name: 'id', type: 'int' }]);
    expect(name).toBe('changes:dbo_customers');
    expect(sql).toContain(`FROM cdc.[fn_cdc_get_all_changes_dbo_customers](@from_lsn, @to_lsn, N'all update old')`);
    expect(sql).toContain('ORDER BY c.[__$start_lsn], c.[__$seqval], c.[__$operation]');
  });
});

describe('SQL Server positions', () => {
  it('uses the Debezium encoding', () => {
    expect(lsnHex(Buffer.from('0000002700000ac00007', 'hex'))).toBe('0000002700000AC00007');
    expect(lsnHex('00000027:00000ac0:0007')).toBe('0000002700000AC00007');
    const p = eventPosition('0000002700000AC00007', '0000002700000AC00002', 2);
    expect(p).toBe('0000002700000AC00007:0000002700000AC00002:00000002');
    expect(parsePosition(p)).toEqual({ commitLsn: '0000002700000AC00007', changeLsn: '0000002700000AC00002', serial: 2 });
    const initial = snapshotPosition('0000002700000AC00007', 5, false);
    const late = snapshotPosition('0000002700000AC00007', 5, true);
    expect(initial).toBe('0000002700000AC00007:00000000000000000000:00000005');
    expect(initial < p && p < late).toBe(true);
    expect(late < eventPosition('0000002700000AC00008', '0', 1)).toBe(true);
  });
});

describe('change rows → events', () => {
  it('insert → c with the commit time and transaction id', () => {
    const [event] = eventsOf(rowsOf('insert', 'dbo_customers'), ctx);
    expect(event).toMatchObject({
      op: 'c', before: null, after: { id: 1005, first_name: 'Anne', last_name: 'Kretchmar', email: 'annek@noanswer.org' },
      keyColumns: ['id'],
      source: { connector: 'sqlserver', database: 'testDB', schema: 'dbo', table: 'customers', txId: '0000000000000000042C', commitTimeMs: 1709287200123, snapshot: 'false',
        position: '0000002700000AC00007:0000002700000AC00002:00000001' },
      correlationId: 'erp@0000002700000AC00007:0000002700000AC00002:00000001',
    });
  });

  it('pairs 3 + 4 into one u event with before and after', () => {
    const events = eventsOf(rowsOf('update', 'dbo_customers'), ctx);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      op: 'u', before: { id: 1004, first_name: 'Anne' }, after: { id: 1004, first_name: 'Anne Marie' },
      source: { position: '0000002700000AC00007:0000002700000AC00002:00000002' },
    });
  });

  it('delete → d with the row as before', () => {
    expect(eventsOf(rowsOf('delete', 'dbo_customers'), ctx)[0]).toMatchObject({ op: 'd', after: null, before: { id: 1002, first_name: 'George' } });
  });

  it('an update-before without its after is an error', () => {
    const rows = rowsOf('update', 'dbo_customers').slice(0, 1);
    expect(() => eventsOf(rows, ctx)).toThrow(/no update-after row/);
    expect(() => eventsOf(rowsOf('update', 'dbo_customers').slice(1), ctx)).toThrow(/without its update-before/);
  });

  it('merges two instances in commit order and keeps transactions whole in batches', () => {
    const events = eventsOf(mergeRows([rowsOf('two-instances', 'dbo_orders'), rowsOf('two-instances', 'dbo_customers')]), ctx);
    expect(events.map((e) => `${e.op}:${e.source.table}:${(e.after ?? e.before)!['id']}`)).toEqual([
      'c:customers:3001', 'c:orders:10005', 'u:orders:10001', 'c:customers:3002',
    ]);
    expect(events[1]!.after!['order_date']).toBe('2024-03-01');
    const batches = batchesOf('erp', eventsOf(rowsOf('multi-row-transaction', 'dbo_customers'), ctx), 2);
    expect(batches.map((b) => b.events.map((e) => e.op).join(''))).toEqual(['ccc', 'ud']);
    expect(batches[0]!.position).toBe(batches[0]!.events[2]!.source.position);
    expect(batches[1]!.sourceTimeMs).toBe(1709287300900);
  });
});

describe('capture instance coverage', () => {
  it('names the mapped columns an instance does not capture', () => {
    const r = loadRecording('insert').results;
    const instance = instancesFromRows(resultSetOf(r['capture-instances']![0]!)).get('dbo_customers')!;
    expect(instance.keyColumns).toEqual(['id']);
    expect(uncoveredColumns(instance, ['id', 'EMAIL', 'loyalty_tier'])).toEqual(['loyalty_tier']);
  });
});

describe('connection strings', () => {
  it('reads URLs and ADO style', () => {
    expect(parseSqlServerConnectionString('mssql://sa:p%40ss@db.local:1434/erp?encrypt=true')).toEqual({
      server: 'db.local', port: 1434, user: 'sa', password: 'p@ss', database: 'erp', encrypt: true, trustServerCertificate: true,
    });
    expect(parseSqlServerConnectionString('Server=tcp:db,1433;Database=erp;User Id=sa;Password=x;TrustServerCertificate=false')).toMatchObject({
      server: 'db', port: 1433, user: 'sa', password: 'x', database: 'erp', encrypt: false, trustServerCertificate: false,
    });
  });
});
