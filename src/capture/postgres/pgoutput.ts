/**
 * pgoutput logical replication messages (protocol version 1), decoded from
 * the payload of one XLogData message. Column values stay text here.
 * https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 */
import { DecodeError } from '../../errors';

/** One column of a tuple: SQL NULL, unchanged TOAST value, or text. */
export type TupleValue = { kind: 'null' } | { kind: 'unchanged' } | { kind: 'text'; text: string };

export interface RelationColumn {
  name: string;
  typeOid: number;
  typeMod: number;
  /** Part of the replica identity (every column under REPLICA IDENTITY FULL). */
  isKey: boolean;
}

export type PgoutputMessage =
  | { tag: 'begin'; finalLsn: bigint; commitTime: bigint; xid: number }
  | { tag: 'commit'; flags: number; commitLsn: bigint; endLsn: bigint; commitTime: bigint }
  | { tag: 'origin'; originLsn: bigint; name: string }
  | { tag: 'relation'; oid: number; schema: string; table: string; replicaIdentity: string; columns: RelationColumn[] }
  | { tag: 'type'; oid: number; schema: string; name: string }
  | { tag: 'insert'; relationOid: number; newTuple: TupleValue[] }
  | { tag: 'update'; relationOid: number; oldKind: 'K' | 'O' | null; oldTuple: TupleValue[] | null; newTuple: TupleValue[] }
  | { tag: 'delete'; relationOid: number; oldKind: 'K' | 'O'; oldTuple: TupleValue[] }
  | { tag: 'truncate'; options: number; relationOids: number[] }
  | { tag: 'message'; transactional: boolean; lsn: bigint; prefix: string; content: Buffer };

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}

  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.at++);
  }
  i16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.at);
    this.at += 2;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
  u32(): number {
    return this.i32() >>> 0;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.at);
    this.at += 8;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.at);
    this.at += 8;
    return v;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.at);
    if (end < 0) throw new DecodeError('pgoutput: unterminated string');
    const s = this.buf.toString('utf8', this.at, end);
    this.at = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
  char(): string {
    return String.fromCharCode(this.u8());
  }
  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new DecodeError('pgoutput: message truncated');
  }
}

export function parsePgoutput(payload: Buffer): PgoutputMessage {
  const r = new Reader(payload);
  const tag = r.char();
  switch (tag) {
    case 'B':
      return { tag: 'begin', finalLsn: r.u64(), commitTime: r.i64(), xid: r.u32() };
    case 'C':
      return { tag: 'commit', flags: r.u8(), commitLsn: r.u64(), endLsn: r.u64(), commitTime: r.i64() };
    case 'O':
      return { tag: 'origin', originLsn: r.u64(), name: r.cstring() };
    case 'R':
      return parseRelation(r);
    case 'Y':
      return { tag: 'type', oid: r.u32(), schema: r.cstring(), name: r.cstring() };
    case 'I':
      return parseInsert(r);
    case 'U':
      return parseUpdate(r);
    case 'D':
      return parseDelete(r);
    case 'T':
      return parseTruncate(r);
    case 'M':
      return parseMessage(r);
    default:
      throw new DecodeError(`pgoutput: unknown message type '${tag}'`);
  }
}

function parseRelation(r: Reader): PgoutputMessage {
  const oid = r.u32();
  const schema = r.cstring();
  const table = r.cstring();
  const replicaIdentity = r.char();
  const count = r.i16();
  const columns: RelationColumn[] = [];
  for (let i = 0; i < count; i++) {
    const flags = r.u8();
    columns.push({ isKey: (flags & 1) === 1, name: r.cstring(), typeOid: r.u32(), typeMod: r.i32() });
  }
  return { tag: 'relation', oid, schema, table, replicaIdentity, columns };
}

function parseInsert(r: Reader): PgoutputMessage {
  const relationOid = r.u32();
  expectChar(r, 'N');
  return { tag: 'insert', relationOid, newTuple: parseTuple(r) };
}

function parseUpdate(r: Reader): PgoutputMessage {
  const relationOid = r.u32();
  let kind = r.char();
  let oldKind: 'K' | 'O' | null = null;
  let oldTuple: TupleValue[] | null = null;
  if (kind === 'K' || kind === 'O') {
    oldKind = kind;
    oldTuple = parseTuple(r);
    kind = r.char();
  }
  if (kind !== 'N') throw new DecodeError(`pgoutput: update without new tuple ('${kind}')`);
  return { tag: 'update', relationOid, oldKind, oldTuple, newTuple: parseTuple(r) };
}

function parseDelete(r: Reader): PgoutputMessage {
  const relationOid = r.u32();
  const kind = r.char();
  if (kind !== 'K' && kind !== 'O') throw new DecodeError(`pgoutput: delete without old tuple ('${kind}')`);
  return { tag: 'delete', relationOid, oldKind: kind, oldTuple: parseTuple(r) };
}

function parseTruncate(r: Reader): PgoutputMessage {
  const count = r.u32();
  const options = r.u8();
  const relationOids: number[] = [];
  for (let i = 0; i < count; i++) relationOids.push(r.u32());
  return { tag: 'truncate', options, relationOids };
}

function parseMessage(r: Reader): PgoutputMessage {
  const transactional = r.u8() === 1;
  const lsn = r.u64();
  const prefix = r.cstring();
  const length = r.u32();
  return { tag: 'message', transactional, lsn, prefix, content: Buffer.from(r.bytes(length)) };
}

function parseTuple(r: Reader): TupleValue[] {
  const count = r.i16();
  const values: TupleValue[] = [];
  for (let i = 0; i < count; i++) {
    const kind = r.char();
    if (kind === 'n') values.push({ kind: 'null' });
    else if (kind === 'u') values.push({ kind: 'unchanged' });
    else if (kind === 't') values.push({ kind: 'text', text: r.bytes(r.u32()).toString('utf8') });
    else throw new DecodeError(`pgoutput: unsupported tuple column kind '${kind}' (binary mode is not requested)`);
  }
  return values;
}

function expectChar(r: Reader, expected: string): void {
  const c = r.char();
  if (c !== expected) throw new DecodeError(`pgoutput: expected '${expected}', got '${c}'`);
}
