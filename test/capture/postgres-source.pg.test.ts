import { afterEach, describe, expect, it } from 'vitest';
import { createPgDatabase, requireEnv, TEST_ENV, waitFor, type TestDatabase } from '../support';
import { CaptureError } from '../../src/errors';
import { Consumer, slotActive, slotOf, sourceOptions, sql, withClient } from './pg-harness';

const adminUrl = requireEnv(TEST_ENV.pg);

describe('postgres pgoutput source', () => {
  let db: TestDatabase | null = null;
  const consumers: Consumer[] = [];
  const open = (c: Consumer) => (consumers.push(c), c);
  const newDb = async () => (db = await createPgDatabase('tandem_cap', adminUrl));

  afterEach(async () => {
    for (const c of consumers.splice(0)) await c.stop();
    await db?.drop();
    db = null;
  });

  it('streams inserts, updates and deletes of every type, with before-images and TOAST', async () => {
    const { url } = await newDb();
    await sql(url,
      `CREATE TABLE t_types (id int PRIMARY KEY, n numeric(18,4), big int8, small int2, f4 float4, f8 float8, b bool,
         tz timestamptz, ts timestamp, d date, tm time, ttz timetz, j json, jb jsonb, u uuid, by bytea,
         ia int[], ta text[], txt text, vc varchar(20), ch char(3), big_txt text)`,
      `CREATE TABLE t_full (id int PRIMARY KEY, name text, qty int)`,
      `ALTER TABLE t_full REPLICA IDENTITY FULL`,
    );
    const consumer = open(new Consumer(sourceOptions(url, { tables: ['public.t_types', 'public.t_full'] })));
    await waitFor(() => slotActive(url, slotOf(url)), { message: 'slot never became active' });

    await sql(url,
      `INSERT INTO t_types VALUES (1, '12345678901234.5678', 9007199254740993, -32768, 'NaN', 1.1, true,
         '2024-03-05 10:11:12.123456+02', '2024-03-05 10:11:12.5', '2024-02-29', '13:14:15.000123', '13:14:15+02',
         '{"a":[1,2,{"b":null}]}', '{"k": "v", "n": 1.5}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff10',
         '{1,NULL,3}', ARRAY['a "q"', NULL, 'NULL', 'b,c', 'ü{}'], 'Grüße 👋 日本', 'varchar', 'ab',
         (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 4000) i))`,
      `INSERT INTO t_types (id) VALUES (2)`,
      `UPDATE t_types SET n = -0.0001 WHERE id = 1`,
      `DELETE FROM t_types WHERE id = 2`,
      `INSERT INTO t_full VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)`,
      `UPDATE t_full SET qty = qty + 10`,
      `DELETE FROM t_full WHERE id = 1`,
      `TRUNCATE t_full`,
    );
    const events = await consumer.waitForEvents(12);
    expect(events.map((e) => `${e.op}:${e.source.table}`)).toEqual([
      'c:t_types', 'c:t_types', 'u:t_types', 'd:t_types',
      'c:t_full', 'c:t_full', 'c:t_full', 'u:t_full', 'u:t_full', 'u:t_full', 'd:t_full', 't:t_full',
    ]);

    const [ins, nulls, upd, del] = events;
    const after = ins!.after!;
    expect({ ...after, big_txt: undefined }).toEqual({
      id: 1, n: '12345678901234.5678', big: '9007199254740993', small: -32768, f4: 'NaN', f8: 1.1, b: true,
      tz: '2024-03-05T08:11:12.123456Z', ts: '2024-03-05T10:11:12.5', d: '2024-02-29', tm: '13:14:15.000123', ttz: '13:14:15+02',
      j: { a: [1, 2, { b: null }] }, jb: { k: 'v', n: 1.5 }, u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', by: 'AP8Q',
      ia: [1, null, 3], ta: ['a "q"', null, 'NULL', 'b,c', 'ü{}'], txt: 'Grüße 👋 日本', vc: 'varchar', ch: 'ab ', big_txt: undefined,
    });
    expect((after.big_txt as string).length).toBe(128_000);
    expect(ins!.keyColumns).toEqual(['id']);
    expect(ins!.source).toMatchObject({ system: 'erp', connector: 'postgresql', schema: 'public', table: 't_types', snapshot: 'false', origin: null });
    expect(ins!.correlationId).toBe(`erp@${ins!.source.position}`);
    expect(Object.values(nulls!.after!).filter((v) => v !== null)).toEqual([2]);

    // REPLICA IDENTITY DEFAULT: key-only before; the unchanged TOASTed column is absent, not null.
    expect(upd!.before).toEqual({ id: 1 });
    expect(upd!.after!.n).toBe('-0.0001');
    expect('big_txt' in upd!.after!).toBe(false);
    expect(upd!.unavailable).toEqual(['big_txt']);
    expect(del!.before).toEqual({ id: 2 });
    expect(del!.after).toBeNull();

    // REPLICA IDENTITY FULL: whole before-images; a multi-row UPDATE gives distinct, ordered positions.
    const fullUpdates = events.filter((e) => e.op === 'u' && e.source.table === 't_full');
    expect(fullUpdates.map((e) => e.before)).toEqual([{ id: 1, name: 'a', qty: 1 }, { id: 2, name: 'b', qty: 2 }, { id: 3, name: 'c', qty: 3 }]);
    expect(fullUpdates[0]!.keyColumns).toEqual(['id']);
    const positions = fullUpdates.map((e) => e.source.position);
    expect(new Set(positions).size).toBe(3);
    expect([...positions].sort()).toEqual(positions);
    expect(new Set(fullUpdates.map((e) => e.source.txId)).size).toBe(1);
    const fullDelete = events[10]!;
    expect(fullDelete.before).toEqual({ id: 1, name: 'a', qty: 11 });
    const truncate = events[11]!;
    expect(truncate).toMatchObject({ op: 't', before: null, after: null });

    // Positions sort in stream order across the whole stream, and batch positions are their last event's.
    const all = events.map((e) => e.source.position);
    expect([...all].sort()).toEqual(all);
    expect(new Set(all).size).toBe(all.length);
    for (const b of consumer.batches) if (b.events.length) expect(b.position).toBe(b.events[b.events.length - 1]!.source.position);
    expect(ins!.source.commitTimeMs).toBeGreaterThan(Date.now() - 60_000);
  });

  it('takes an initial snapshot consistent with the slot, then snapshots a table added later', async () => {
    const { url } = await newDb();
    await sql(url, `CREATE TABLE t1 (id int PRIMARY KEY, v text)`, `INSERT INTO t1 SELECT i, 'v' || i FROM generate_series(1, 250) i`);
    // A writer keeps inserting while the slot is created and the snapshot read.
    let writing = true;
    let written = 250;
    const writer = withClient(url, async (c) => {
      // Bounded (ids stay below the 1,000,000 used later), but far beyond what a slow slot creation under load lets through.
      while (writing && written < 20_000) await c.query('INSERT INTO t1 VALUES ($1, $2)', [++written, 'w']);
    });
    const consumer = open(new Consumer(sourceOptions(url, { tables: ['public.t1'], snapshot: 'initial', maxBatchEvents: 40 }), true));
    await waitFor(() => consumer.events.some((e) => e.op === 'c'), { timeoutMs: 20_000, message: 'no streamed insert' });
    writing = false;
    await writer;
    await consumer.waitForEvents(written, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    const ids = consumer.events.map((e) => e.after!.id as number);
    expect(ids.length).toBe(written);
    expect(new Set(ids).size).toBe(written);
    const reads = consumer.events.filter((e) => e.op === 'r');
    expect(reads.length).toBeGreaterThanOrEqual(250);
    expect(reads[0]!.source.snapshot).toBe('first');
    expect(reads[reads.length - 1]!.source.snapshot).toBe('last');
    const lastRead = reads[reads.length - 1]!.source.position;
    expect(consumer.events.filter((e) => e.op === 'c').every((e) => e.source.position > lastRead)).toBe(true);
    expect(consumer.batches.filter((b) => b.completedSnapshots).map((b) => b.completedSnapshots)).toEqual([['public.t1']]);
    await consumer.stop();

    await sql(url, `CREATE TABLE t2 (id int PRIMARY KEY, v text)`, `INSERT INTO t2 SELECT i, 'x' FROM generate_series(1, 95) i`);
    const again = open(new Consumer(sourceOptions(url, {
      tables: ['public.t1', 'public.t2'], snapshot: 'initial', maxBatchEvents: 40, snapshotted: new Set(['public.t1']),
    }), true));
    await waitFor(() => again.batches.some((b) => b.completedSnapshots?.includes('public.t2')), { message: 't2 snapshot never completed' });
    await sql(url, `INSERT INTO t2 VALUES (96, 'new')`, `INSERT INTO t1 VALUES (1000000, 'new')`);
    await again.waitForEvents(97);
    const t2 = again.events.filter((e) => e.source.table === 't2');
    expect(t2.filter((e) => e.op === 'r').length).toBe(95);
    expect(t2.filter((e) => e.op === 'c').map((e) => e.after!.id)).toEqual([96]);
    expect(again.events.filter((e) => e.source.table === 't1').map((e) => `${e.op}${e.after!.id}`)).toEqual(['c1000000']);
  });

  it('resumes after a restart exactly after the acknowledged position', async () => {
    const { url } = await newDb();
    await sql(url, `CREATE TABLE t (id int PRIMARY KEY)`);
    const options = sourceOptions(url, { tables: ['public.t'], maxBatchEvents: 1 });
    const first = open(new Consumer(options));
    await waitFor(() => slotActive(url, slotOf(url)));
    await sql(url, 'INSERT INTO t VALUES (1)', 'INSERT INTO t VALUES (2)', 'INSERT INTO t VALUES (3)', 'INSERT INTO t VALUES (4), (5)');
    await first.waitForEvents(5);
    expect(first.batches.map((b) => b.events.map((e) => e.after!.id))).toEqual([[1], [2], [3], [4], [5]]);
    await first.source.acknowledge(first.batches[1]!.position); // through id 2
    await first.stop();

    const second = open(new Consumer(options));
    await waitFor(() => slotActive(url, slotOf(url)));
    await sql(url, 'INSERT INTO t VALUES (6)');
    await second.waitForEvents(4);
    await new Promise((r) => setTimeout(r, 300));
    expect(second.events.map((e) => e.after!.id)).toEqual([3, 4, 5, 6]);
    expect(second.events.slice(0, 3).map((e) => e.source.position)).toEqual(first.events.slice(2).map((e) => e.source.position));
    // Acknowledging the first half of the two-row transaction (a partial batch) must not release it.
    expect(second.batches[1]!.events.map((e) => e.after!.id)).toEqual([4]);
    await second.source.acknowledge(second.batches[1]!.position);
    await second.stop();

    const third = open(new Consumer(options));
    await third.waitForEvents(3);
    await new Promise((r) => setTimeout(r, 300));
    expect(third.events.map((e) => e.after!.id)).toEqual([4, 5, 6]);

    // Losing the connection ends the iteration with a (retriable) CaptureError.
    await sql(url, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '${slotOf(url)}'`);
    await third.done;
    expect(third.error).toBeInstanceOf(CaptureError);
  });

  it('emits heartbeats, advances the slot while idle, reports retained WAL and carries the replication origin', async () => {
    const { url } = await newDb();
    await sql(url, `CREATE TABLE t (id int PRIMARY KEY)`, `CREATE TABLE unpublished (id serial PRIMARY KEY, pad text)`);
    const consumer = open(new Consumer(sourceOptions(url, { tables: ['public.t'], heartbeatMs: 150, statusIntervalMs: 100 }), true));
    await waitFor(() => slotActive(url, slotOf(url)));
    const flushed = () => withClient(url, async (c) =>
      (await c.query(`SELECT (confirmed_flush_lsn - '0/0')::text AS n FROM pg_replication_slots WHERE slot_name = '${slotOf(url)}'`)).rows[0].n as string);
    // A slot shows as active while it is still being created; its confirmed
    // position appears once it has reached a consistent point.
    const before = BigInt(await waitFor(() => flushed(), { message: 'slot never reached a consistent point' }));
    await sql(url, `INSERT INTO unpublished (pad) SELECT repeat('x', 100) FROM generate_series(1, 1000)`);
    const walAfterWrites = BigInt(await withClient(url, async (c) => (await c.query(`SELECT (pg_current_wal_lsn() - '0/0')::text AS n`)).rows[0].n as string));
    await waitFor(async () => BigInt(await flushed()) >= walAfterWrites, { timeoutMs: 15_000, message: 'confirmed_flush_lsn did not advance while idle' });
    expect(BigInt(await flushed())).toBeGreaterThan(before);
    await waitFor(() => consumer.batches.some((b) => b.events.length === 0), { message: 'no heartbeat batch' });
    const beats = consumer.batches.filter((b) => b.events.length === 0);
    expect(beats[0]!.position).toMatch(/^[0-9A-F]{16}:00000000$/);
    expect(beats[0]!.sourceTimeMs).toBeGreaterThan(Date.now() - 60_000);
    const stats = await consumer.source.stats();
    expect(stats.retainedBytes).toEqual(expect.any(Number));

    // Origins are cluster-wide, and one session at a time may hold one: use our own.
    const origin = `origin_${slotOf(url)}`;
    await withClient(url, async (c) => {
      await c.query('SELECT pg_replication_origin_create($1)', [origin]);
      await c.query('SELECT pg_replication_origin_session_setup($1)', [origin]);
      await c.query('INSERT INTO t VALUES (1)');
    });
    await sql(url, 'INSERT INTO t VALUES (2)');
    const events = await consumer.waitForEvents(2);
    expect(events.map((e) => [e.after!.id, e.source.origin])).toEqual([[1, origin], [2, null]]);
    await sql(url, `SELECT pg_replication_origin_drop('${origin}')`);
    const positions = consumer.batches.map((b) => b.position);
    expect([...positions].sort()).toEqual(positions);
  });
});
