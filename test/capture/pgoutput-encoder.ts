/** A small pgoutput (protocol 1) encoder, to build binary messages in tests. */
export type TestTupleValue = string | null | 'UNCHANGED_TOAST';
export const TOAST: TestTupleValue = 'UNCHANGED_TOAST';

class Writer {
  private parts: Buffer[] = [];
  byte(c: string | number): this {
    this.parts.push(Buffer.from([typeof c === 'string' ? c.charCodeAt(0) : c]));
    return this;
  }
  i16(n: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    this.parts.push(b);
    return this;
  }
  i32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    this.parts.push(b);
    return this;
  }
  i64(n: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(n);
    this.parts.push(b);
    return this;
  }
  str(s: string): this {
    this.parts.push(Buffer.from(s, 'utf8'), Buffer.from([0]));
    return this;
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  tuple(values: TestTupleValue[]): this {
    this.i16(values.length);
    for (const v of values) {
      if (v === null) this.byte('n');
      else if (v === TOAST) this.byte('u');
      else {
        const bytes = Buffer.from(v, 'utf8');
        this.byte('t').i32(bytes.length).raw(bytes);
      }
    }
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const w = () => new Writer();

export const encode = {
  begin: (finalLsn: bigint, commitMicros: bigint, xid: number) => w().byte('B').i64(finalLsn).i64(commitMicros).i32(xid).done(),
  commit: (commitLsn: bigint, endLsn: bigint, commitMicros: bigint) => w().byte('C').byte(0).i64(commitLsn).i64(endLsn).i64(commitMicros).done(),
  origin: (lsn: bigint, name: string) => w().byte('O').i64(lsn).str(name).done(),
  relation: (oid: number, schema: string, table: string, identity: string, columns: { name: string; type: number; key?: boolean }[]) => {
    const out = w().byte('R').i32(oid).str(schema).str(table).byte(identity).i16(columns.length);
    for (const c of columns) out.byte(c.key ? 1 : 0).str(c.name).i32(c.type).i32(-1);
    return out.done();
  },
  type: (oid: number, schema: string, name: string) => w().byte('Y').i32(oid).str(schema).str(name).done(),
  insert: (oid: number, values: TestTupleValue[]) => w().byte('I').i32(oid).byte('N').tuple(values).done(),
  update: (oid: number, values: TestTupleValue[], old?: { kind: 'K' | 'O'; values: TestTupleValue[] }) => {
    const out = w().byte('U').i32(oid);
    if (old) out.byte(old.kind).tuple(old.values);
    return out.byte('N').tuple(values).done();
  },
  delete: (oid: number, kind: 'K' | 'O', values: TestTupleValue[]) => w().byte('D').i32(oid).byte(kind).tuple(values).done(),
  truncate: (oids: number[], options = 0) => {
    const out = w().byte('T').i32(oids.length).byte(options);
    for (const oid of oids) out.i32(oid);
    return out.done();
  },
  message: (transactional: boolean, lsn: bigint, prefix: string, content: string) => {
    const bytes = Buffer.from(content);
    return w().byte('M').byte(transactional ? 1 : 0).i64(lsn).str(prefix).i32(bytes.length).raw(bytes).done();
  },
};
