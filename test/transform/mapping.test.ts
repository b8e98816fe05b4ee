import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChangeEvent, Op, Row } from '../../src/capture';
import { mappingSpec } from '../../src/config/spec';
import { ConfigError, ConversionError, DecodeError } from '../../src/errors';
import { compileMapping, localKeyText } from '../../src/transform';

const customer = compileMapping(mappingSpec.parse({
  system: 'erp',
  table: 'sales.customer',
  entity: 'customer',
  key: { columns: ['cust_no'] },
  fields: {
    number: 'cust_no',
    name: { column: 'name', convert: ['trim'] },
    email: { column: 'email', convert: ['lower', 'empty-to-null'] },
    status: { column: 'status', convert: [{ enum: { A: 'active', B: 'blocked' } }] },
    credit_limit: { column: 'credit_lim', convert: [{ decimal: { scale: 2 } }] },
    weight_g: { column: 'weight_kg', convert: [{ factor: 1000 }] },
    changed_at: { column: 'changed', convert: [{ timezone: 'Europe/Berlin' }] },
    parent: { column: 'parent_no', ref: 'customer' },
    created_at: { column: 'created', readOnly: true },
    notes: 'notes',
  },
}));

function event(op: Op, before: Row | null, after: Row | null, unavailable: string[] = []): ChangeEvent {
  return {
    op, before, after, unavailable, keyColumns: ['cust_no'],
    source: { system: 'erp', connector: 'postgresql', database: 'erp', schema: 'sales', table: 'customer', position: '0000000000000010:00000001', txId: '7', commitTimeMs: 1, snapshot: 'false', origin: null },
    tsMs: 2,
    correlationId: 'erp@0000000000000010:00000001',
  };
}

const row: Row = {
  cust_no: 1001, name: ' Acme ', email: 'Sales@ACME.com', status: 'A', credit_lim: '1500.5', weight_kg: '1.25',
  changed: '2024-07-01 12:00:00.123456', parent_no: 900, created: '2020-01-01', notes: 'big', unmapped: 'x',
};

describe('Mapping', () => {
  it('knows its table and keys', () => {
    expect(customer).toMatchObject({ system: 'erp', table: 'sales.customer', schema: 'sales', tableName: 'customer', entity: 'customer', keyColumns: ['cust_no'], keyGenerated: 'none', onTruncate: 'dead-letter' });
    expect(compileMapping(mappingSpec.parse({ system: 'crm', table: 'account', entity: 'customer', key: { columns: ['id'] }, fields: { number: 'id' } })))
      .toMatchObject({ table: 'public.account', schema: 'public', tableName: 'account' });
  });
});

describe('toCanonical', () => {
  it('maps an insert to an upsert of canonical values, refs apart', () => {
    const change = customer.toCanonical(event('c', null, row));
    expect(change).toMatchObject({ entity: 'customer', system: 'erp', localKey: '1001', key: null, kind: 'upsert', before: null });
    expect(change.after).toEqual({
      number: 1001, name: 'Acme', email: 'sales@acme.com', status: 'active', credit_limit: '1500.50', weight_g: '1250.00',
      changed_at: '2024-07-01T10:00:00.123456Z', created_at: '2020-01-01', notes: 'big',
    });
    expect(change.refs).toEqual({ parent: { entity: 'customer', localKey: '900' } });
  });

  it('maps snapshot reads and updates to upserts, with the before-image', () => {
    expect(customer.toCanonical(event('r', null, row)).kind).toBe('upsert');
    const change = customer.toCanonical(event('u', { cust_no: 1001, status: 'B' }, { ...row, parent_no: null }));
    expect(change.before).toEqual({ number: 1001, status: 'blocked' });
    expect(change.refs).toEqual({ parent: { entity: 'customer', localKey: null } });
  });

  it('maps a delete from its before-image', () => {
    const change = customer.toCanonical(event('d', { cust_no: 1001, name: 'Acme' }, null));
    expect(change).toMatchObject({ kind: 'delete', localKey: '1001', after: null, before: { number: 1001, name: 'Acme' } });
  });

  it('leaves unavailable (TOAST) and absent columns out, never null', () => {
    const { notes: _n, ...withoutNotes } = row;
    const change = customer.toCanonical(event('u', null, { ...withoutNotes, email: '__debezium_unavailable_value', name: 'ignored' }, ['name']));
    expect(change.after).not.toHaveProperty('notes');
    expect(change.after).not.toHaveProperty('name');
    expect(change.after).not.toHaveProperty('email');
    expect(change.after).toHaveProperty('status', 'active');
  });

  it('never turns a TOAST-absent column into null (property)', () => {
    const columns = ['name', 'email', 'status', 'credit_lim', 'weight_kg', 'changed', 'notes', 'created'];
    fc.assert(fc.property(fc.subarray(columns), fc.subarray(columns), (unavailable, absent) => {
      const after: Row = Object.fromEntries(Object.entries(row).filter(([c]) => !absent.includes(c)));
      const change = customer.toCanonical(event('u', null, after, unavailable));
      return customer.fields.every((b) => {
        const gone = unavailable.includes(b.column) || absent.includes(b.column);
        return gone ? !(change.after && b.field in change.after) && !(b.field in change.refs) : b.ref !== null || change.after?.[b.field] !== null;
      });
    }));
  });

  it('refuses truncates, events without images and rows without keys', () => {
    expect(() => customer.toCanonical(event('t', null, null))).toThrow(DecodeError);
    expect(() => customer.toCanonical(event('c', null, null))).toThrow(DecodeError);
    expect(() => customer.toCanonical(event('d', null, null))).toThrow(/cust_no/);
    const { cust_no: _k, ...keyless } = row;
    expect(() => customer.toCanonical(event('c', null, keyless))).toThrow(DecodeError);
    expect(() => customer.toCanonical(event('c', null, keyless))).toThrow(/key column cust_no missing/);
  });

  it('reports a conversion failure with the field, column and change', () => {
    let error: unknown;
    try {
      customer.toCanonical(event('c', null, { ...row, credit_lim: 'lots' }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConversionError);
    const conversion = error as ConversionError;
    expect(conversion.message).toMatch(/credit_limit \(column credit_lim\).*"lots"/);
    expect(conversion.context).toMatchObject({ system: 'erp', table: 'sales.customer', entity: 'customer', correlationId: 'erp@0000000000000010:00000001', position: '0000000000000010:00000001' });
  });
});

describe('toRow', () => {
  it('converts back the fields given, skipping read-only ones and passing refs as is', () => {
    expect(customer.toRow({ name: 'Acme', status: 'blocked', weight_g: '1250.00', changed_at: '2024-07-01T10:00:00Z', parent: '900', created_at: 'x', other: 1 }))
      .toEqual({ name: 'Acme', status: 'B', weight_kg: '1.25', changed: '2024-07-01T12:00:00', parent_no: '900' });
    expect(customer.toRow({ email: null })).toEqual({ email: null });
    expect(customer.toRow({})).toEqual({});
  });

  it('reports a value the target cannot take', () => {
    expect(() => customer.toRow({ status: 'vip' })).toThrow(ConversionError);
    expect(() => customer.toRow({ status: 'vip' })).toThrow(/status \(column status\).*"vip"/);
  });

  it('toRow(toCanonical(row)) reproduces the mapped columns of canonical-form rows', () => {
    const money = fc.tuple(fc.bigInt(-(10n ** 12n), 10n ** 12n), fc.integer({ min: 0, max: 99 }))
      .map(([whole, cents]) => `${whole < 0n ? '-' : ''}${whole < 0n ? -whole : whole}.${String(cents).padStart(2, '0')}`)
      .filter((m) => m !== '-0.00');
    const kg = fc.tuple(fc.nat(), fc.integer({ min: 1, max: 999 })).map(([w, g]) => `${w}.${String(g).padStart(3, '0').replace(/0+$/, '')}`);
    const local = fc.integer({ min: 0, max: 4_000_000_000 }).map((s) => new Date(s * 1000).toISOString().slice(0, 19));
    const source = fc.record({
      cust_no: fc.integer({ min: 1 }),
      name: fc.string().map((s) => s.trim()),
      email: fc.option(fc.string({ minLength: 1 }).map((s) => s.toLowerCase()).filter((s) => s !== '')),
      status: fc.constantFrom('A', 'B'),
      credit_lim: money,
      weight_kg: kg,
      changed: local.map((t) => customer.toRow({ changed_at: `${t}Z` }).changed as string),
      parent_no: fc.option(fc.integer({ min: 1 }).map(String)),
      notes: fc.option(fc.string()),
    }, { requiredKeys: ['cust_no'] });
    fc.assert(fc.property(source, (r) => {
      const change = customer.toCanonical(event('c', null, r));
      const refs = Object.fromEntries(Object.entries(change.refs).map(([f, ref]) => [f, ref.localKey]));
      expect(customer.toRow({ ...change.after, ...refs })).toEqual(r);
    }));
  });
});

describe('local keys', () => {
  const line = compileMapping(mappingSpec.parse({
    system: 'erp', table: 'order_line', entity: 'order_line', key: { columns: ['order_no', 'line_no'] },
    fields: { order: { column: 'order_no', ref: 'sales_order' }, line: 'line_no' },
  }));

  it('single columns are their text; composite keys a JSON array', () => {
    expect(localKeyText([42])).toBe('42');
    expect(localKeyText(['42'])).toBe('42');
    expect(localKeyText(['SO-1', 3])).toBe('["SO-1",3]');
    expect(line.localKeyOf({ order_no: 'SO-1', line_no: 3, qty: 1 })).toBe('["SO-1",3]');
    expect(customer.localKeyOf({ cust_no: 1001 })).toBe('1001');
  });

  it('keyRow inverts it (single keys come back as text)', () => {
    expect(customer.keyRow('1001')).toEqual({ cust_no: '1001' });
    expect(line.keyRow('["SO-1",3]')).toEqual({ order_no: 'SO-1', line_no: 3 });
    expect(() => line.keyRow('SO-1')).toThrow(DecodeError);
    expect(() => line.keyRow('["SO-1"]')).toThrow(DecodeError);
    fc.assert(fc.property(fc.string(), fc.integer(), (o, l) => {
      const key = line.localKeyOf({ order_no: o, line_no: l });
      return line.localKeyOf(line.keyRow(key)) === key;
    }));
  });

  it('a reference that is also a key column stays in the key and goes to refs', () => {
    const change = line.toCanonical({ ...event('c', null, { order_no: 'SO-1', line_no: 3 }), keyColumns: ['order_no', 'line_no'] });
    expect(change.localKey).toBe('["SO-1",3]');
    expect(change.after).toEqual({ line: 3 });
    expect(change.refs).toEqual({ order: { entity: 'sales_order', localKey: 'SO-1' } });
  });
});

describe('compile errors', () => {
  const base = { system: 'erp', table: 't', entity: 'customer', key: { columns: ['id'] } };
  it('are ConfigErrors naming the field', () => {
    expect(() => compileMapping(mappingSpec.parse({ ...base, fields: { s: { column: 's', convert: [{ enum: { a: 'x', b: 'x' } }] } } })))
      .toThrow(/field s: enum map is not invertible/);
    expect(() => compileMapping(mappingSpec.parse({ ...base, fields: { p: { column: 'p', ref: 'customer', convert: ['trim'] } } })))
      .toThrow(ConfigError);
    expect(() => compileMapping(mappingSpec.parse({ ...base, fields: { a: 'c', b: 'c' } }))).toThrow(/column c is mapped to both a and b/);
    expect(() => compileMapping(mappingSpec.parse({ ...base, fields: { t: { column: 't', convert: [{ timezone: 'Nowhere/Town' }] } } })))
      .toThrow(ConfigError);
  });
});
