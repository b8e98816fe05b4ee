/**
 * pgoutput messages → change events, transaction by transaction. Keeps the
 * relation cache (pgoutput sends a Relation message before the first change
 * of a table in a session, and again when it changes) and the open
 * transaction's Begin/Origin data. Pure: no I/O, so it is unit-tested with
 * hand-built messages.
 */
import { correlationIdOf, type ChangeEvent, type Op, type Row, type Value } from '../change-event';
import { DecodeError } from '../../errors';
import { decodeValue, OID } from './decode-value';
import { pgMicrosToEpochMs, positionOf } from './lsn';
import type { PgoutputMessage, RelationColumn, TupleValue } from './pgoutput';

export const HEARTBEAT_PREFIX = 'tandem.heartbeat';

export interface DecoderContext {
  system: string;
  database: string;
  /** Qualified `schema.table` names to emit; other published tables are skipped. */
  tables: ReadonlySet<string>;
  /** Primary keys from the catalog, used when the replica identity does not name the key (FULL, NOTHING). */
  primaryKeys: ReadonlyMap<string, string[]>;
  now?: () => number;
}

export type Decoded =
  | { kind: 'event'; event: ChangeEvent }
  | { kind: 'commit'; commitLsn: bigint; endLsn: bigint; commitTimeMs: number; events: number }
  | { kind: 'heartbeat'; lsn: bigint };

interface Relation {
  schema: string;
  table: string;
  columns: RelationColumn[];
  keyColumns: string[];
}

interface OpenTransaction {
  finalLsn: bigint;
  commitTimeMs: number;
  xid: number;
  origin: string | null;
  nextIndex: number;
}

export class ChangeDecoder {
  private readonly relations = new Map<number, Relation>();
  private readonly arrayTypes = new Map<number, number>();
  private tx: OpenTransaction | null = null;

  constructor(private readonly ctx: DecoderContext) {}

  /** True between Begin and Commit. */
  get inTransaction(): boolean {
    return this.tx !== null;
  }

  decode(message: PgoutputMessage): Decoded[] {
    switch (message.tag) {
      case 'begin':
        this.tx = { finalLsn: message.finalLsn, commitTimeMs: pgMicrosToEpochMs(message.commitTime), xid: message.xid, origin: null, nextIndex: 0 };
        return [];
      case 'origin':
        this.openTx().origin = message.name;
        return [];
      case 'commit':
        return [this.commit(message.commitLsn, message.endLsn)];
      case 'relation':
        this.relations.set(message.oid, this.relationOf(message));
        return [];
      case 'type':
        // Only user-defined types get a Type message; arrays of them decode element-wise as text.
        if (message.name.startsWith('_')) this.arrayTypes.set(message.oid, OID.text);
        return [];
      case 'message':
        return !message.transactional && message.prefix === HEARTBEAT_PREFIX ? [{ kind: 'heartbeat', lsn: message.lsn }] : [];
      case 'insert':
        return this.rowChange(message.relationOid, 'c', null, message.newTuple);
      case 'update':
        return this.update(message.relationOid, oldOf(message.oldKind, message.oldTuple), message.newTuple);
      case 'delete':
        return this.rowChange(message.relationOid, 'd', oldOf(message.oldKind, message.oldTuple), null);
      case 'truncate':
        return message.relationOids.flatMap((oid) => this.rowChange(oid, 't', null, null));
    }
  }

  private commit(commitLsn: bigint, endLsn: bigint): Decoded {
    const tx = this.openTx();
    this.tx = null;
    return { kind: 'commit', commitLsn, endLsn, commitTimeMs: tx.commitTimeMs, events: tx.nextIndex };
  }

  private relationOf(message: Extract<PgoutputMessage, { tag: 'relation' }>): Relation {
    const qualified = `${message.schema || 'pg_catalog'}.${message.table}`;
    const flagged = message.columns.filter((c) => c.isKey).map((c) => c.name);
    // FULL flags every column as identity, NOTHING flags none: the catalog's primary key is the record key then.
    const useCatalog = message.replicaIdentity === 'f' || message.replicaIdentity === 'n' || flagged.length === 0;
    const keyColumns = useCatalog ? (this.ctx.primaryKeys.get(qualified) ?? flagged) : flagged;
    return { schema: message.schema || 'pg_catalog', table: message.table, columns: message.columns, keyColumns };
  }

  /** A key change is a delete of the old key and an insert of the new one, as Debezium emits it. */
  private update(oid: number, old: OldTuple | null, newTuple: TupleValue[]): Decoded[] {
    const relation = this.relation(oid);
    if (old && keyChanged(relation, old.tuple, newTuple)) {
      return [...this.rowChange(oid, 'd', old, null), ...this.rowChange(oid, 'c', null, newTuple)];
    }
    return this.rowChange(oid, 'u', old, newTuple);
  }

  private rowChange(oid: number, op: Op, old: OldTuple | null, newTuple: TupleValue[] | null): Decoded[] {
    const relation = this.relation(oid);
    if (!this.ctx.tables.has(`${relation.schema}.${relation.table}`)) return [];
    const tx = this.openTx();
    const after = newTuple ? this.toRow(relation, newTuple) : null;
    let before = old ? this.toRow(relation, old.tuple).row : null;
    // Under REPLICA IDENTITY DEFAULT/INDEX an old 'K' tuple has nulls for non-identity columns; an
    // update that keeps the key sends no old tuple at all: the key comes from the new row.
    if (before && old?.kind === 'K') before = pick(before, relation.columns.filter((c) => c.isKey).map((c) => c.name));
    if (op === 'u' && !before && after) before = pick(after.row, relation.keyColumns);
    const position = positionOf(tx.finalLsn, tx.nextIndex++);
    const event: ChangeEvent = {
      op,
      before,
      after: after?.row ?? null,
      unavailable: after?.unavailable ?? [],
      keyColumns: relation.keyColumns,
      source: {
        system: this.ctx.system, connector: 'postgresql', database: this.ctx.database, schema: relation.schema,
        table: relation.table, position, txId: String(tx.xid), commitTimeMs: tx.commitTimeMs, snapshot: 'false', origin: tx.origin,
      },
      tsMs: (this.ctx.now ?? Date.now)(),
      correlationId: correlationIdOf(this.ctx.system, position),
    };
    return [{ kind: 'event', event }];
  }

  private toRow(relation: Relation, tuple: TupleValue[]): { row: Row; unavailable: string[] } {
    const row: Row = {};
    const unavailable: string[] = [];
    relation.columns.forEach((column, i) => {
      const value = tuple[i];
      if (!value || value.kind === 'unchanged') unavailable.push(column.name);
      else row[column.name] = value.kind === 'null' ? null : this.decodeColumn(relation, column, value.text);
    });
    return { row, unavailable };
  }

  /** A value that does not decode names its table, column and transaction, for the operator. */
  private decodeColumn(relation: Relation, column: RelationColumn, text: string): Value {
    try {
      return decodeValue(text, column.typeOid, this.arrayTypes);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      const table = `${relation.schema}.${relation.table}`;
      const position = this.tx ? positionOf(this.tx.finalLsn, this.tx.nextIndex) : undefined;
      throw new DecodeError(`${error.message} (column ${column.name}, type oid ${column.typeOid})`, { system: this.ctx.system, table, position }, { cause: error });
    }
  }

  private relation(oid: number): Relation {
    const relation = this.relations.get(oid);
    if (!relation) throw new DecodeError(`pgoutput: change for relation ${oid} before its Relation message`);
    return relation;
  }

  private openTx(): OpenTransaction {
    if (!this.tx) throw new DecodeError('pgoutput: change outside a transaction');
    return this.tx;
  }
}

function pick(row: Row, columns: string[]): Row {
  const out: Row = {};
  for (const c of columns) if (c in row) out[c] = row[c] ?? null;
  return out;
}

/** 'K': identity columns only (DEFAULT, USING INDEX); 'O': the whole old row (FULL). */
interface OldTuple {
  kind: 'K' | 'O';
  tuple: TupleValue[];
}

function oldOf(kind: 'K' | 'O' | null, tuple: TupleValue[] | null): OldTuple | null {
  return kind && tuple ? { kind, tuple } : null;
}

function keyChanged(relation: Relation, oldTuple: TupleValue[], newTuple: TupleValue[]): boolean {
  return relation.columns.some((column, i) => {
    if (!relation.keyColumns.includes(column.name)) return false;
    const a = oldTuple[i];
    const b = newTuple[i];
    if (!a || !b || a.kind === 'unchanged' || b.kind === 'unchanged') return false;
    return a.kind !== b.kind || (a.kind === 'text' && b.kind === 'text' && a.text !== b.text);
  });
}
