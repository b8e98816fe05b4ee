/**
 * The pure pieces of exceptions and allocated keys: folding a held task with
 * later ones, key formats, which fields a refusal is about, and the config
 * that declares them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldTasks, formatKey, rejectedFields } from '../../src/apply';
import { parseConfig } from '../../src/config';
import { ApplyError, ConfigError } from '../../src/errors';
import { compileMapping } from '../../src/transform';

type T = Parameters<typeof foldTasks>[0];
const upsert = (fields: Record<string, string | null>, expected: Record<string, string | null> = {}, record: Record<string, string | null> = fields): T => ({ op: 'upsert', fields, expected, record, reason: 'propagate' });
const del = (record: Record<string, string | null> = {}): T => ({ op: 'delete', fields: {}, expected: {}, record, reason: 'propagate' });

describe('foldTasks', () => {
  it('later values replace earlier ones; a field keeps the expectation of the first task writing it', () => {
    const folded = foldTasks(upsert({ phone: 'long' }, { phone: 'old' }), [upsert({ name: 'B', phone: 'short' }, { name: 'A', phone: 'long' }, { name: 'B', phone: 'short' })]);
    expect(folded).toEqual({ op: 'upsert', fields: { phone: 'short', name: 'B' }, expected: { phone: 'old', name: 'A' }, record: { name: 'B', phone: 'short' }, reason: 'propagate' });
  });

  it('a delete ends the record; an upsert after it writes the whole record unconditionally', () => {
    expect(foldTasks(upsert({ a: '1' }), [del({ a: '1' })])).toMatchObject({ op: 'delete', fields: {}, expected: {} });
    expect(foldTasks(upsert({ a: '1' }), [del(), upsert({ b: '2' }, { b: '0' }, { a: '1', b: '2' })])).toMatchObject({ op: 'upsert', fields: { a: '1', b: '2' }, expected: {} });
  });

  it('folding is the same as applying the tasks one after the other, field by field (property)', () => {
    const value = fc.constantFrom('x', 'y', 'z', null);
    const task = fc.record({ a: fc.option(value, { nil: undefined }), b: fc.option(value, { nil: undefined }) })
      .map((f) => upsert(Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as Record<string, string | null>));
    fc.assert(fc.property(task, fc.array(task, { maxLength: 6 }), (head, later) => {
      const folded = foldTasks(head, later);
      const sequential: Record<string, string | null> = {};
      for (const t of [head, ...later]) Object.assign(sequential, t.fields);
      expect(folded.fields).toEqual(sequential);
    }));
  });

  it('a correction anywhere keeps the fold a correction', () => {
    expect(foldTasks({ ...upsert({ a: '1' }), reason: 'correct' }, [upsert({ a: '2' })]).reason).toBe('correct');
  });
});

describe('formatKey', () => {
  it('pads to the width of the zeros, keeps prefix and suffix, and writes wider numbers in full', () => {
    expect(formatKey(42, 'C{00000}')).toBe('C00042');
    expect(formatKey('7', 'K-{000}-X')).toBe('K-007-X');
    expect(formatKey(123456, 'C{00000}')).toBe('C123456');
    expect(formatKey(9007199254740993n, '{0}')).toBe('9007199254740993');
    expect(formatKey('ABC-1', null)).toBe('ABC-1');
  });
});

describe('rejectedFields', () => {
  const mapping = compileMapping({ system: 'erp', table: 'customers', entity: 'customer', key: { columns: ['cust_no'], generated: 'database' }, fields: { name: 'name', phone: 'phone' }, onTruncate: 'dead-letter' });
  const wrap = (cause: object) => new ApplyError('erp: applying failed', { retriable: false }, { cause });
  it('names the column PostgreSQL or MariaDB reports, or the values longer than a varchar(n)', () => {
    expect(rejectedFields(wrap({ code: '23502', column: 'name', message: 'null value in column "name"' }), mapping, { name: null, phone: 'p' })).toEqual(['name']);
    expect(rejectedFields(wrap({ code: 'ER_DATA_TOO_LONG', message: "Data too long for column 'phone' at row 1" }), mapping, { name: 'n', phone: 'p' })).toEqual(['phone']);
    expect(rejectedFields(wrap({ code: '22001', message: 'value too long for type character varying(5)' }), mapping, { name: 'ok', phone: '123456' })).toEqual(['phone']);
    expect(rejectedFields(wrap({ code: '23505', message: 'duplicate key' }), mapping, { name: 'n', phone: 'p' })).toEqual(['name', 'phone']);
  });
});

describe('config: allocated keys, exception columns, create', () => {
  const text = (key: string, extra = '', entity = '') => `
stateStore: { url: { env: STATE_URL } }
systems:
  erp: { type: postgres, url: { env: ERP_URL } }
  crm: { type: postgres, url: { env: CRM_URL } }
entities:
  customer: { owner: erp${entity} }
mappings:
  - { system: erp, table: customers, entity: customer, key: ${key}, fields: { number: cust_no, name: name } }
  - { system: crm, table: accounts, entity: customer, key: { columns: [id], generated: uuid }, fields: { number: erp_no, name: account_name }${extra} }
pipeline: { allowNoRedis: true }
`;
  it('compiles a sequence with a format and a query; exception columns get their defaults', () => {
    const loaded = parseConfig(text('{ columns: [cust_no], generated: { sequence: cust_seq, format: "C{00000}" } }', ', exceptionFields: { status: sync_status, error: sync_error }', ', create: [erp, crm]'), 'k.yaml', {});
    const [erp, crm] = loaded.config.mappings.map(compileMapping);
    expect(erp).toMatchObject({ keyGenerated: 'allocated', keyAllocator: { sequence: 'cust_seq', format: 'C{00000}' }, keyField: 'number' });
    expect(crm!.exceptionColumns).toEqual({ status: 'sync_status', error: 'sync_error', rejectedValue: 'rejected', resolvedValue: 'ok' });
    expect(loaded.config.entities.customer!.create).toEqual(['erp', 'crm']);
    const sql = compileMapping(parseConfig(text('{ columns: [cust_no], generated: { sql: "select next_customer_no()" } }'), 'k.yaml', {}).config.mappings[0]!);
    expect(sql.keyAllocator).toEqual({ sql: 'select next_customer_no()', format: null });
  });

  it('refuses a bad format, an exception column that is a mapped field, an unknown creator and an allocated composite key, naming file and path', () => {
    const bad = [
      [text('{ columns: [cust_no], generated: { sequence: s, format: "C-00" } }'), /mappings\[0\]\.key\.generated\.format \(line \d+\): a key format holds one run of zeros in braces/],
      [text('{ columns: [cust_no] }', ', exceptionFields: { status: erp_no, error: sync_error }'), /mappings\[1\]\.exceptionFields\.status \(line \d+\): column erp_no is mapped to field number/],
      [text('{ columns: [cust_no] }', '', ', create: [shop]'), /entities\.customer\.create\[0\] \(line \d+\): unknown system "shop"/],
      [text('{ columns: [cust_no, name], generated: { sequence: s } }'), /mappings\[0\]\.key\.generated \(line \d+\): an allocated key fills one key column, not 2/],
    ] as const;
    for (const [config, message] of bad) {
      try {
        parseConfig(config, 'k.yaml', {});
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).message).toMatch(message);
        expect((error as ConfigError).context).toMatchObject({ file: 'k.yaml' });
      }
    }
  });
});
