/**
 * The preflight's rules without a database: catalog rows → column facts,
 * which source types fit which target types, and the mapping checks over
 * hand-made catalogs (missing objects, keys, NOT NULL columns a generator
 * fills or nobody fills, untransportable types unless converted, the
 * REPLICA IDENTITY rule).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import {
  capacityProblem, columnInfo, exitCodeOf, mappedTables, mappingFindings, preflightReport, reliesOnBeforeImages,
  type CatalogColumnRow, type ColumnInfo, type Dialect, type SystemCatalog, type TableInfo,
} from '../../src/preflight';

function col(dialect: Dialect, name: string, dataType: string, extra: Partial<CatalogColumnRow> = {}): ColumnInfo {
  return columnInfo(dialect, {
    name, data_type: dataType, column_type: null, char_length: null, num_precision: null, num_scale: null, dt_precision: null,
    is_nullable: 'YES', column_default: null, auto: null, ...extra,
  });
}
const varchar = (n: number, dialect: Dialect = 'postgres') => col(dialect, 'c', dialect === 'postgres' ? 'character varying' : 'varchar', { char_length: n });
const decimal = (p: number, s: number, dialect: Dialect = 'postgres') => col(dialect, 'c', dialect === 'postgres' ? 'numeric' : 'decimal', { num_precision: p, num_scale: s });

describe('column facts from information_schema rows', () => {
  it('reads text lengths (SQL Server max is unbounded), integer ranges (unsigned too) and fractional seconds', () => {
    expect(varchar(24)).toMatchObject({ family: 'text', length: 24, type: 'character varying(24)' });
    expect(col('sqlserver', 'c', 'nvarchar', { char_length: -1 })).toMatchObject({ family: 'text', length: null, type: 'nvarchar(max)' });
    expect(col('mysql', 'c', 'int', { column_type: 'int(10) unsigned' }).range).toEqual({ min: 0n, max: 4294967295n });
    expect(col('postgres', 'c', 'smallint').range).toEqual({ min: -32768n, max: 32767n });
    expect(col('mysql', 'c', 'datetime').fractionDigits).toBe(0);
    expect(col('mysql', 'c', 'tinyint', { column_type: 'tinyint(1)' }).family).toBe('boolean');
  });

  it('knows what the database fills: defaults, identities, auto_increment — not MariaDB\u2019s DEFAULT NULL', () => {
    expect(col('postgres', 'c', 'integer', { column_default: "nextval('s'::regclass)" }).filledByDatabase).toBe(true);
    expect(col('postgres', 'c', 'integer', { auto: 'identity' }).filledByDatabase).toBe(true);
    expect(col('mysql', 'c', 'int', { auto: 'auto_increment' }).filledByDatabase).toBe(true);
    expect(col('mysql', 'c', 'int', { auto: 'on update current_timestamp()' }).filledByDatabase).toBe(false);
    expect(col('mysql', 'c', 'varchar', { column_default: 'NULL' }).filledByDatabase).toBe(false);
  });
});

describe('what a target column can hold of a source column', () => {
  it('text lengths', () => {
    expect(capacityProblem(varchar(30), varchar(24))).toBe('values longer than 24 characters will be rejected');
    expect(capacityProblem(col('postgres', 'c', 'text'), varchar(24))).toMatch(/source is unbounded/);
    expect(capacityProblem(varchar(24), varchar(30))).toBeNull();
    expect(capacityProblem(varchar(24), col('postgres', 'c', 'text'))).toBeNull();
  });

  it('decimals: integer digits and scale', () => {
    expect(capacityProblem(decimal(18, 4), decimal(12, 2))).toBe('values of more than 10 integer digits will be rejected; digits beyond the 2. decimal are rounded by the target (the systems then hold different values)');
    expect(capacityProblem(decimal(12, 2), decimal(18, 4))).toBeNull();
    expect(capacityProblem(col('postgres', 'c', 'numeric'), decimal(12, 2))).toMatch(/^unconstrained decimals/);
    expect(capacityProblem(col('postgres', 'c', 'bigint'), decimal(12, 2))).toBe('values of more than 10 digits will be rejected');
  });

  it('integers: width and sign', () => {
    expect(capacityProblem(col('postgres', 'c', 'bigint'), col('postgres', 'c', 'integer'))).toMatch(/outside -2147483648\.\.2147483647/);
    expect(capacityProblem(col('mysql', 'c', 'int', { column_type: 'int unsigned' }), col('postgres', 'c', 'integer'))).toMatch(/will be rejected/);
    expect(capacityProblem(col('postgres', 'c', 'smallint'), col('postgres', 'c', 'integer'))).toBeNull();
    expect(capacityProblem(decimal(9, 0), col('postgres', 'c', 'integer'))).toBeNull();
    expect(capacityProblem(decimal(10, 2), col('postgres', 'c', 'integer'))).toMatch(/fraction/);
  });

  it('text into non-text, fractional seconds, timestamps into dates', () => {
    expect(capacityProblem(varchar(10), col('postgres', 'c', 'integer'))).toMatch(/not valid numbers/);
    expect(capacityProblem(col('postgres', 'c', 'timestamp without time zone', { dt_precision: 6 }), col('mysql', 'c', 'datetime'))).toMatch(/beyond 0 digits/);
    expect(capacityProblem(col('postgres', 'c', 'timestamp with time zone', { dt_precision: 6 }), col('postgres', 'c', 'date'))).toMatch(/time of day is dropped/);
  });
});

const CONFIG = `
stateStore: { url: { env: S } }
systems:
  erp: { type: postgres, url: { env: E }, capture: { slot: s, publication: p } }
  crm: { type: mysql, url: { env: C }, capture: { serverId: 9 } }
entities:
  customer:
    owner: erp
    fields: { name: { policy: latest-wins }, phone: { owner: crm } }
  item: { owner: erp }
mappings:
  - system: erp
    table: customers
    entity: customer
    key: { columns: [cust_no] }
    fields: { cust_no: cust_no, name: name, phone: phone, shape: { column: shape, convert: [{ enum: { P: point } }] } }
  - system: crm
    table: crm.accounts
    entity: customer
    key: { columns: [id], generated: uuid }
    fields: { cust_no: cust_no, name: account_name, phone: phone, shape: shape, area: { column: area, convert: [trim] } }
  - system: erp
    table: items
    entity: item
    key: { columns: [id], generated: database }
    fields: { sku: sku }
  - system: crm
    table: crm.items
    entity: item
    key: { columns: [id], generated: uuid }
    fields: { sku: sku }
`;

function table(columns: ColumnInfo[], primaryKey: string[] | null, uniqueKeys: string[][] = []): TableInfo {
  return { columns: new Map(columns.map((c) => [c.name, c])), primaryKey, uniqueKeys };
}
const named = (c: ColumnInfo, name: string, extra: Partial<ColumnInfo> = {}): ColumnInfo => ({ ...c, name, ...extra });

describe('mapping checks over catalogs', () => {
  const { config } = parseConfig(CONFIG, 'test.yaml', {});
  const erp: SystemCatalog = {
    dialect: 'postgres',
    tables: new Map([
      ['public.customers', table([
        named(varchar(5), 'cust_no', { nullable: false }), named(col('postgres', 'c', 'text'), 'name'), named(varchar(24), 'phone'),
        named(col('postgres', 'c', 'point'), 'shape'), named(col('postgres', 'c', 'text'), 'region', { nullable: false }),
      ], ['cust_no'])],
      ['public.items', table([named(col('postgres', 'c', 'integer'), 'id', { nullable: false }), named(varchar(20), 'sku')], null, [['id']])],
    ]),
  };
  const crm: SystemCatalog = {
    dialect: 'mysql',
    tables: new Map<string, TableInfo | null>([
      ['crm.accounts', table([
        named(col('mysql', 'c', 'char', { column_type: 'char(36)', char_length: 36 }), 'id', { nullable: false }), named(varchar(5, 'mysql'), 'cust_no'),
        named(varchar(200, 'mysql'), 'account_name', { nullable: false }), named(varchar(30, 'mysql'), 'phone'),
        named(col('mysql', 'c', 'point', { column_type: 'point' }), 'shape'), named(col('mysql', 'c', 'polygon', { column_type: 'polygon' }), 'area'),
      ], ['id'])],
      ['crm.items', null],
    ]),
  };
  const findings = mappingFindings(config, new Map([['erp', erp], ['crm', crm]]));
  const of = (check: string, system: string, column?: string) => findings.filter((f) => f.check === check && f.system === system && (column === undefined || f.column === column));

  it('a missing table is an error naming the mapping to correct', () => {
    expect(of('table', 'crm')).toEqual([expect.objectContaining({ severity: 'error', table: 'crm.items', fix: expect.stringContaining('mappings[3].table') })]);
  });

  it('the generator of key.generated: database needs a default on the key column', () => {
    expect(of('key', 'erp', 'id')).toEqual([expect.objectContaining({ severity: 'error', message: expect.stringMatching(/no default, identity or sequence/) })]);
  });

  it('NOT NULL columns nobody fills are errors; a key a generator fills is exempt (uuid; database: reported as a key problem)', () => {
    expect(of('not-null', 'erp').map((f) => f.column)).toEqual(['region']);
    expect(of('not-null', 'crm')).toEqual([]);
  });

  it('an untransportable type is refused unless its field has a converter', () => {
    expect(of('type', 'crm')).toEqual([expect.objectContaining({ severity: 'error', column: 'shape' })]);
    expect(of('type', 'erp')).toEqual([]);
  });

  it('capacity compares every captured source with every target of the same field, converted fields left out', () => {
    expect(of('capacity', 'erp')).toEqual([expect.objectContaining({
      column: 'phone', message: 'crm.crm.accounts.phone varchar(30) → erp.customers.phone character varying(24): values longer than 24 characters will be rejected',
    })]);
    expect(of('capacity', 'crm').map((f) => f.column)).toEqual(['account_name']);
  });

  it('REPLICA IDENTITY matters where a table maps fields it does not solely decide', () => {
    const [customers, , items] = mappedTables(config);
    expect(reliesOnBeforeImages(config, customers!)).toBe('customer.name is latest-wins');
    expect(reliesOnBeforeImages(config, items!)).toBeNull();
  });

  it('exits 2 on mismatches, 1 when only servers are unreachable, 0 with warnings only', () => {
    expect(exitCodeOf(preflightReport(findings))).toBe(2);
    const connect = { severity: 'error' as const, system: 'redis', table: null, column: null, check: 'connect' as const, message: 'x', fix: 'y' };
    expect(exitCodeOf(preflightReport([connect]))).toBe(1);
    expect(exitCodeOf(preflightReport(findings.filter((f) => f.severity === 'warning')))).toBe(0);
  });
});

describe('the type matrix of issue 12', () => {
  it('refuses spatial types and, through Debezium, PostgreSQL interval and varbit; warns about MariaDB TIME into a PostgreSQL time', async () => {
    const { untransportable } = await import('../../src/preflight');
    expect(untransportable('postgres', col('postgres', 'c', 'USER-DEFINED', { column_type: 'geometry(Point,4326)' }), false)).toBeDefined();
    expect(untransportable('postgres', col('postgres', 'c', 'point'), false)).toBeDefined();
    expect(untransportable('postgres', col('postgres', 'c', 'interval'), false)).toBeUndefined();
    expect(untransportable('postgres', col('postgres', 'c', 'interval'), true)?.reason).toMatch(/interval\.handling\.mode=string/);
    expect(untransportable('postgres', col('postgres', 'c', 'bit varying', { column_type: 'bit varying(8)' }), true)).toBeDefined();
    expect(untransportable('mysql', col('mysql', 'c', 'time'), false)).toBeUndefined();
    expect(capacityProblem(col('mysql', 'c', 'time', { column_type: 'time' }), col('postgres', 'c', 'time without time zone', { dt_precision: 6 }))).toMatch(/negative or of 24 hours/);
    expect(capacityProblem(col('mysql', 'c', 'time', { column_type: 'time' }), col('postgres', 'c', 'interval'))).toBeNull();
  });
});

describe('tandem check includes the rules check', () => {
  it('reports its errors and warnings (not its notes) as findings with their line', async () => {
    const { rulesFindings } = await import('../../src/cli/check-command');
    const text = CONFIG.replace('fields: { name: { policy: latest-wins }, phone: { owner: crm } }', 'fields: { name: { policy: latest-wins, correct: true }, phone: { owner: crm } }\n  unowned: { owner: crm }')
      .replace('mappings:\n', 'mappings:\n  - { system: erp, table: extra, entity: unowned, key: { columns: [id] }, fields: { id: id } }\n');
    const findings = rulesFindings(parseConfig(text, 'test.yaml', {}));
    expect(findings).toEqual([
      expect.objectContaining({ severity: 'warning', system: 'rules', check: 'rules', message: expect.stringMatching(/^entities\.customer\.fields\.name\.correct \(line \d+\): correct has no effect under latest-wins/) }),
      expect.objectContaining({ severity: 'error', message: expect.stringMatching(/^entities\.customer\.owner \(line \d+\): customer\.area has no rule/) }),
      expect.objectContaining({ severity: 'error', system: 'rules', check: 'rules', message: expect.stringMatching(/^entities\.unowned\.owner \(line \d+\): unowned\.id has no rule and falls to the entity owner/) }),
    ]);
  });
});
