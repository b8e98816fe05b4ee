/**
 * Change-table rows → change events → batches. Pure: no connection, no clock
 * except `tsMs`. Rows of several capture instances are merged in
 * (start_lsn, seqval, operation) order, which is commit order, then the
 * order of changes within each transaction; an update's 3 (before) and 4
 * (after) rows share start_lsn and seqval and become one 'u' event.
 */
import { correlationIdOf, type ChangeEvent, type Row } from '../change-event';
import type { ChangeBatch } from '../source';
import { CaptureError, DecodeError } from '../../errors';
import { decodeSqlServerValue } from './decode-value';
import { eventPosition, lsnHex } from './lsn';
import type { CaptureInstance } from './metadata';
import type { ResultSet } from './queries';

export type Operation = 1 | 2 | 3 | 4;

/** One row of `cdc.fn_cdc_get_all_changes_<instance>`, decoded. */
export interface ChangeRow {
  instance: CaptureInstance;
  startLsn: string;
  seqval: string;
  operation: Operation;
  values: Row;
  txId: string | null;
  commitTimeMs: number | null;
}

export interface EventContext {
  system: string;
  database: string;
  /** Time the events are handed over (ChangeEvent.tsMs). */
  nowMs: number;
}

const META = /^__\$/;

export function changeRowsOf(instance: CaptureInstance, result: ResultSet): ChangeRow[] {
  const dataColumns = result.columns.filter((c) => !META.test(c.name));
  return result.rows.map((raw) => {
    const operation = Number(raw['__$operation']);
    if (operation !== 1 && operation !== 2 && operation !== 3 && operation !== 4) {
      throw new DecodeError(`capture instance ${instance.name}: unknown __$operation ${String(raw['__$operation'])}`);
    }
    const startLsn = lsnOf(raw['__$start_lsn'], instance);
    const values: Row = {};
    for (const column of dataColumns) {
      try {
        values[column.name] = decodeSqlServerValue(raw[column.name], column.type, `${instance.qualified}.${column.name}`);
      } catch (error) {
        // The operator needs the table and the transaction to find the row.
        if (error instanceof DecodeError) throw new DecodeError(error.message, { table: instance.qualified, position: startLsn }, { cause: error });
        throw error;
      }
    }
    const tranId = raw['__$tran_id'];
    const commitMs = raw['__$commit_ms'];
    return {
      instance,
      startLsn,
      seqval: lsnOf(raw['__$seqval'], instance),
      operation,
      values,
      txId: Buffer.isBuffer(tranId) ? tranId.toString('hex').toUpperCase() : null,
      commitTimeMs: commitMs === null || commitMs === undefined ? null : Number(commitMs),
    };
  });
}

function lsnOf(raw: unknown, instance: CaptureInstance): string {
  if (!Buffer.isBuffer(raw)) throw new DecodeError(`capture instance ${instance.name}: an LSN column holds a ${typeof raw}, not binary(10)`, { table: instance.qualified });
  return lsnHex(raw);
}

/** Rows of several instances in (start_lsn, seqval, operation) order; ties (never seen) by instance name. */
export function mergeRows(lists: ChangeRow[][]): ChangeRow[] {
  const key = (r: ChangeRow) => `${r.startLsn}:${r.seqval}:${r.operation}`;
  return lists.flat().sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka !== kb) return ka < kb ? -1 : 1;
    return a.instance.name < b.instance.name ? -1 : a.instance.name > b.instance.name ? 1 : 0;
  });
}

/** Ordered rows → events: 2 → 'c', 1 → 'd', 3 + 4 → 'u'. A 3 without its 4 (or a lone 4) is an error. */
export function eventsOf(rows: ChangeRow[], ctx: EventContext): ChangeEvent[] {
  const events: ChangeEvent[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as ChangeRow;
    switch (row.operation) {
      case 2:
        events.push(eventOf('c', null, row.values, row, 1, ctx));
        break;
      case 1:
        events.push(eventOf('d', row.values, null, row, 1, ctx));
        break;
      case 3: {
        const after = rows[i + 1];
        if (!after || after.operation !== 4 || after.startLsn !== row.startLsn || after.seqval !== row.seqval || after.instance !== row.instance) {
          throw new CaptureError(`capture instance ${row.instance.name}: update-before row at ${row.startLsn}/${row.seqval} has no update-after row`, { system: ctx.system, table: row.instance.qualified });
        }
        events.push(eventOf('u', row.values, after.values, after, 2, ctx));
        i++;
        break;
      }
      case 4:
        throw new CaptureError(`capture instance ${row.instance.name}: update-after row at ${row.startLsn}/${row.seqval} without its update-before row`, { system: ctx.system, table: row.instance.qualified });
    }
  }
  return events;
}

function eventOf(op: 'c' | 'u' | 'd', before: Row | null, after: Row | null, row: ChangeRow, serial: number, ctx: EventContext): ChangeEvent {
  const position = eventPosition(row.startLsn, row.seqval, serial);
  const { instance } = row;
  return {
    op, before, after, unavailable: [], keyColumns: [...instance.keyColumns],
    source: {
      system: ctx.system, connector: 'sqlserver', database: ctx.database, schema: instance.schema, table: instance.table,
      position, txId: row.txId, commitTimeMs: row.commitTimeMs ?? ctx.nowMs, snapshot: 'false', origin: null,
    },
    tsMs: ctx.nowMs,
    correlationId: correlationIdOf(ctx.system, position),
  };
}

/** The commit LSN (start_lsn) of an event: its position's first field. */
export function commitLsnOf(event: ChangeEvent): string {
  return event.source.position.slice(0, 20);
}

/**
 * Events → batches of at most `maxEvents`, ending on transaction (start_lsn)
 * boundaries: a transaction is never split, so one larger than `maxEvents`
 * is a batch of its own.
 */
export function batchesOf(system: string, events: ChangeEvent[], maxEvents: number): ChangeBatch[] {
  const batches: ChangeBatch[] = [];
  let current: ChangeEvent[] = [];
  const flush = () => {
    const last = current[current.length - 1];
    if (!last) return;
    batches.push({ system, events: current, position: last.source.position, sourceTimeMs: last.source.commitTimeMs });
    current = [];
  };
  let i = 0;
  while (i < events.length) {
    const lsn = commitLsnOf(events[i] as ChangeEvent);
    let j = i;
    while (j < events.length && commitLsnOf(events[j] as ChangeEvent) === lsn) j++;
    const tx = events.slice(i, j);
    if (current.length > 0 && current.length + tx.length > maxEvents) flush();
    current.push(...tx);
    i = j;
  }
  flush();
  return batches;
}
