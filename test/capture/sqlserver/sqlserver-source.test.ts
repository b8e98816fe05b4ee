/**
 * The SQL Server source's polling loop, LSN bookkeeping, snapshot and
 * acknowledgement, driven through hand-written result sets (recorded/README.md:
 * written from the driver's type mapping, not recorded from a server).
 */
import { describe, expect, it } from 'vitest';
import type { ChangeBatch } from '../../../src/capture';
import { createSqlServerSource, SqlServerSource, type SqlServerSourceOptions } from '../../../src/capture/sqlserver';
import { CaptureError } from '../../../src/errors';
import { loadRecording, RecordedConnection } from './recorded-connection';

function source(recording: string, over: Partial<SqlServerSourceOptions> = {}) {
  const connection = new RecordedConnection(structuredClone(loadRecording(recording).results));
  const src = createSqlServerSource({
    system: 'erp', connectionString: 'unused', tables: ['dbo.customers'], captureInstances: {},
    pollIntervalMs: 10, snapshot: 'initial', maxBatchEvents: 1000, snapshotted: new Set(),
    connect: async () => connection, ...over,
  }) as SqlServerSource;
  return { src, connection };
}

/** Takes `n` batches, then stops the source. */
async function take(src: SqlServerSource, n: number): Promise<ChangeBatch[]> {
  const out: ChangeBatch[] = [];
  if (n === 0) return out;
  for await (const batch of src.batches()) {
    out.push(batch);
    if (out.length === n) await src.stop();
  }
  return out;
}

describe('SqlServerSource over hand-written result sets (not recorded from a server)', () => {
  it('first start: snapshot at the max LSN in one transaction, then streams from it (exclusive)', async () => {
    const { src, connection } = source('insert');
    const [snapshot, change] = await take(src, 2);
    expect(snapshot!.events.map((e) => [e.op, e.after!['id'], e.source.position, e.source.snapshot])).toEqual([
      ['r', 1001, '00000027000009A80001:00000000000000000000:00000000', 'first'],
      ['r', 1002, '00000027000009A80001:00000000000000000000:00000001', 'last'],
    ]);
    expect(snapshot!.completedSnapshots).toEqual(['dbo.customers']);
    // The max LSN and the rows were read in the same transaction.
    expect(connection.calls.filter((c) => c.inTransaction).map((c) => c.name)).toEqual(['max-lsn', 'snapshot:dbo.customers']);
    // Polling starts after the snapshot LSN: fn_cdc_increment_lsn(L) up to the max LSN.
    expect(connection.callsNamed('poll-bounds')[0]!.params).toEqual({ last: '00000027000009A80001' });
    expect(connection.callsNamed('changes:dbo_customers')[0]!.params).toEqual({ from_lsn: '00000027000009A80002', to_lsn: '0000002700000AC00007' });
    expect(change!.events).toHaveLength(1);
    expect(change).toMatchObject({ position: '0000002700000AC00007:0000002700000AC00002:00000001', sourceTimeMs: 1709287200123 });
    expect(connection.closed).toBe(1);
  });

  it('with a snapshot listener: tells the tables and their sys.partitions row counts before the rows, and labels the snapshot batch', async () => {
    const plans: unknown[] = [];
    const { src, connection } = source('insert', { onSnapshotPlanned: (plan) => plans.push(plan) });
    connection.add('rowEstimate', { columns: [{ index: 0, name: 'n', type: 'bigint' }], rows: [{ n: 2 }] });
    const [snapshot] = await take(src, 1);
    expect(plans).toEqual([[{ table: 'dbo.customers', estimatedRows: 2 }]]);
    expect(connection.callsNamed('rowEstimate')).toEqual([expect.objectContaining({ params: { table: '[dbo].[customers]' }, inTransaction: true })]);
    expect(snapshot).toMatchObject({ snapshotTable: 'dbo.customers', completedSnapshots: ['dbo.customers'] });
  });

  it('keeps polling from the last delivered LSN and sleeps while nothing is new', async () => {
    const { src, connection } = source('insert');
    const it = src.batches()[Symbol.asyncIterator]();
    await it.next(); // snapshot
    await it.next(); // the insert
    const pending = it.next();
    await new Promise((r) => setTimeout(r, 60));
    const polls = connection.callsNamed('poll-bounds');
    expect(polls.length).toBeGreaterThanOrEqual(3);
    expect(polls.slice(1).every((c) => c.params['last'] === '0000002700000AC00007')).toBe(true);
    expect(connection.callsNamed('changes:dbo_customers')).toHaveLength(1); // max LSN did not move: no change query
    await src.stop();
    expect((await pending).done).toBe(true);
  });

  it('resumes after the checkpoint without a snapshot: update → u, delete → d', async () => {
    const position = '00000027000009A80001:00000000000000000000:00000001';
    const { src, connection } = source('update', { startPosition: position, snapshotted: new Set(['dbo.customers']) });
    const [batch] = await take(src, 1);
    expect(connection.callsNamed('max-lsn')).toHaveLength(0);
    expect(connection.callsNamed('poll-bounds')[0]!.params).toEqual({ last: '00000027000009A80001' });
    expect(batch!.events.map((e) => [e.op, e.before?.['first_name'], e.after?.['first_name']])).toEqual([['u', 'Anne', 'Anne Marie']]);

    const del = source('delete', { startPosition: position, snapshotted: new Set(['dbo.customers']) });
    const [deleted] = await take(del.src, 1);
    expect(deleted!.events[0]).toMatchObject({ op: 'd', before: { id: 1002 }, after: null });
  });

  it('a multi-row transaction is never split across batches', async () => {
    const { src } = source('multi-row-transaction', { startPosition: '00000027000009A80001:00000000000000000000:00000000', snapshotted: new Set(['dbo.customers']), maxBatchEvents: 2 });
    const batches = await take(src, 2);
    expect(batches.map((b) => b.events.map((e) => `${e.op}${(e.after ?? e.before)!['id']}`))).toEqual([['c2001', 'c2002', 'c2003'], ['u2001', 'd2003']]);
    expect(new Set(batches[0]!.events.map((e) => e.source.txId))).toEqual(new Set(['00000000000000000500']));
  });

  it('merges two capture instances into commit order', async () => {
    const { src, connection } = source('two-instances', {
      tables: ['dbo.customers', 'dbo.orders'], snapshotted: new Set(['dbo.customers', 'dbo.orders']),
      startPosition: '00000027000009A80001:00000000000000000000:00000000',
    });
    const [batch] = await take(src, 1);
    expect(batch!.events.map((e) => `${e.op}:${e.source.table}`)).toEqual(['c:customers', 'c:orders', 'u:orders', 'c:customers']);
    const positions = batch!.events.map((e) => e.source.position);
    expect([...positions].sort()).toEqual(positions);
    expect(connection.callsNamed('changes:dbo_orders')[0]!.params['from_lsn']).toBe('00000027000009A80002');
  });

  it('acknowledgement moves where a restarted batches() resumes', async () => {
    const { src, connection } = source('insert');
    const [snapshot, change] = await take(src, 2);
    await src.acknowledge(snapshot!.position);
    expect(src.acknowledgedPosition).toBe(snapshot!.position);
    await src.acknowledge('00000000000000000000:00000000000000000000:00000000'); // never backwards
    expect(src.acknowledgedPosition).toBe(snapshot!.position);

    // Restart before the change was acknowledged: re-read from the snapshot LSN, no new snapshot (it was acknowledged).
    connection.calls.length = 0;
    const [again] = await take(src, 1);
    expect(connection.callsNamed('snapshot:dbo.customers')).toHaveLength(0);
    expect(connection.callsNamed('poll-bounds')[0]!.params).toEqual({ last: '00000027000009A80001' });
    expect(again!.events[0]!.source.position).toBe(change!.position);

    await src.acknowledge(change!.position);
    connection.calls.length = 0;
    const it = src.batches()[Symbol.asyncIterator]();
    const pending = it.next();
    await new Promise((r) => setTimeout(r, 30));
    expect(connection.callsNamed('poll-bounds')[0]!.params).toEqual({ last: '0000002700000AC00007' });
    await src.stop();
    expect((await pending).done).toBe(true);
  });

  it('a table without a finished snapshot is snapshotted after the checkpoint, and its covered changes are dropped', async () => {
    const { src, connection } = source('insert', { startPosition: '00000026000000100001:00000000000000000000:00000000' });
    connection.add('max-lsn'); // same recorded L as before: 00000027000009A80001
    const batches = await take(src, 2);
    expect(batches[0]!.events[0]!.source.position).toBe('00000026000000100001:FFFFFFFFFFFFFFFFFFFF:00000000');
    // Polling still starts at the checkpoint, and the insert (committed after L) is kept.
    expect(connection.callsNamed('poll-bounds')[0]!.params).toEqual({ last: '00000026000000100001' });
    expect(batches[1]!.events.map((e) => e.op)).toEqual(['c']);
  });

  it('says which mapped column a capture instance lacks and what to do', async () => {
    const { src, connection } = source('insert', { columns: { 'dbo.customers': ['id', 'email', 'loyalty_tier'] } });
    connection.add('table-columns', { columns: [{ index: 0, name: 'column_name', type: 'nvarchar' }], rows: ['id', 'first_name', 'last_name', 'email', 'loyalty_tier'].map((c) => ({ column_name: c })) });
    const error = await take(src, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CaptureError);
    expect(String((error as Error).message)).toMatch(/column loyalty_tier of dbo\.customers is not in capture instance dbo_customers.*new capture instance/);
  });

  it('a missing capture instance is named', async () => {
    const { src } = source('insert', { tables: ['dbo.products'] });
    await expect(take(src, 1)).rejects.toThrow(/dbo\.products has no CDC capture instance dbo_products/);
  });

  it('changes cleaned up past the checkpoint stop the source instead of being skipped', async () => {
    const { src, connection } = source('delete', { startPosition: '00000010000000100001:00000000000000000000:00000000', snapshotted: new Set(['dbo.customers']) });
    const bounds = (connection as unknown as { results: Record<string, Array<{ rows: Record<string, unknown>[] }>> }).results['poll-bounds']![0]!;
    bounds.rows[0]!['next_lsn'] = { $buffer: '00000010000000100002' }; // as fn_cdc_increment_lsn(checkpoint) answers
    await expect(take(src, 1)).rejects.toThrow(/no longer all in capture instance dbo_customers/);
  });

  it('an empty poll of mapped tables still moves the position on', async () => {
    const { src, connection } = source('delete', { startPosition: '00000027000009A80001:00000000000000000000:00000000', snapshotted: new Set(['dbo.customers']) });
    connection.add('changes:dbo_customers');
    (connection as unknown as { results: Record<string, unknown[]> }).results['changes:dbo_customers'] = [{ columns: [], rows: [] }];
    const [batch] = await take(src, 1);
    expect(batch).toMatchObject({ events: [], position: '0000002800000B100003:00000000000000000000:00000000', sourceTimeMs: 1709287260000 });
  });

  it('snapshot: never starts at the current max LSN', async () => {
    const { src, connection } = source('insert', { snapshot: 'never' });
    const [batch] = await take(src, 1);
    expect(connection.callsNamed('snapshot:dbo.customers')).toHaveLength(0);
    expect(connection.callsNamed('poll-bounds')[0]!.params).toEqual({ last: '00000027000009A80001' });
    expect(batch!.events[0]!.op).toBe('c');
  });
});
