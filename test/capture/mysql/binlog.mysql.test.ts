/**
 * The native binlog source against the test MariaDB: every type with exact
 * values, before/after images, multi-row statements, snapshot + concurrent
 * writer, restart from an acknowledged position, heartbeats, unmapped tables.
 */
import fc from 'fast-check';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comparePositions, type ChangeEvent } from '../../../src/capture';
import { createMysqlDatabase, requireEnv, TEST_ENV, waitFor, type TestDatabase } from '../../support';
import { Collector, connectTo } from './helpers';

const ALL_TYPES = `CREATE TABLE all_types (
  id INT PRIMARY KEY, amount DECIMAL(18,4), happened DATETIME(6), stamped TIMESTAMP(6) NULL, day DATE, span TIME(6),
  doc JSON, data BLOB, flags BIT(10), color ENUM('red','green','blue,ish'), tags SET('x','y','z'), label VARCHAR(100),
  big BIGINT, ratio FLOAT, fixed BINARY(4), note TEXT, dbl DOUBLE
) CHARACTER SET utf8mb4`;

const ROW1 = `(1, 12345678901234.5678, '2024-01-02 03:04:05.123456', '2024-03-05 10:11:12.000500', '2024-02-29', '-838:59:59.000001',
  '{"a": [1, 2.5, "x"], "ü": {"b": null}}', x'00ff10', b'1010000011', 'blue,ish', 'x,z', 'Grüße 👋 日本', 9007199254740993, 1.1, x'0102', 'line1\\nline2', 1.7976931348623157e308)`;
// A JSON number beyond a double's precision: the document's text, never a rounded number (issue 12).
const ROW2 = `(2, -0.0001, '1999-12-31 23:59:59', NULL, NULL, '-00:00:00.000001', '{"n": 12345678901234567890123}', NULL, NULL, NULL, '', NULL, -5, NULL, NULL, NULL, 0.1)`;

const EXPECTED1 = {
  id: 1, amount: '12345678901234.5678', happened: '2024-01-02T03:04:05.123456', stamped: '2024-03-05T10:11:12.0005Z', day: '2024-02-29',
  span: '-838:59:59.000001', doc: { a: [1, 2.5, 'x'], 'ü': { b: null } }, data: Buffer.from([0, 255, 16]).toString('base64'), flags: '1010000011',
  color: 'blue,ish', tags: 'x,z', label: 'Grüße 👋 日本', big: '9007199254740993', ratio: 1.1, fixed: Buffer.from([1, 2, 0, 0]).toString('base64'),
  note: 'line1\nline2', dbl: Number.MAX_VALUE,
};
const EXPECTED2 = {
  id: 2, amount: '-0.0001', happened: '1999-12-31T23:59:59', stamped: null, day: null, span: '-00:00:00.000001', doc: '{"n": 12345678901234567890123}',
  data: null, flags: null, color: null, tags: '', label: null, big: '-5', ratio: null, fixed: null, note: null, dbl: 0.1,
};

describe('native MySQL/MariaDB binlog source', () => {
  const adminUrl = requireEnv(TEST_ENV.mysql);
  const dbs: TestDatabase[] = [];
  const conns: mysql.Connection[] = [];
  const fresh = async (prefix: string) => {
    const db = await createMysqlDatabase(prefix, adminUrl);
    dbs.push(db);
    const conn = await connectTo(db.url);
    conns.push(conn);
    return { db, conn };
  };

  afterAll(async () => {
    await Promise.all(conns.map((c) => c.end().catch(() => undefined)));
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it('streams insert/update/delete of every type with exact values, before/after images and ordered positions', async () => {
    const { db, conn } = await fresh('my_types');
    await conn.query(ALL_TYPES);
    await conn.query('CREATE TABLE other (id INT PRIMARY KEY, v TEXT)');
    const c = new Collector({ connectionString: db.url, tables: [`${db.name}.all_types`] });
    try {
      await c.started(conn, db.name);
      await conn.query(`INSERT INTO all_types VALUES ${ROW1}, ${ROW2}`);
      await conn.query(`INSERT INTO other VALUES (1, 'ignored')`);
      await conn.query(`UPDATE all_types SET label = 'changed', amount = 1.5 WHERE id = 1`);
      await conn.query(`UPDATE all_types SET id = 3 WHERE id = 2`);
      await conn.query(`DELETE FROM all_types`);
      const events = await c.waitForEvents(7);
      await new Promise((r) => setTimeout(r, 300));
      expect(c.events.map((e) => `${e.op}${(e.after ?? e.before)!.id}`)).toEqual(['c1', 'c2', 'u1', 'd2', 'c3', 'd1', 'd3']);
      const [i1, i2, u1, , , d1] = events as [ChangeEvent, ChangeEvent, ChangeEvent, ChangeEvent, ChangeEvent, ChangeEvent];
      expect(i1.after).toEqual(EXPECTED1);
      expect(i2.after).toEqual(EXPECTED2);
      expect(i1.before).toBeNull();
      expect(u1.before).toEqual(EXPECTED1);
      expect(u1.after).toEqual({ ...EXPECTED1, label: 'changed', amount: '1.5000' });
      expect(d1.before).toEqual({ ...EXPECTED1, label: 'changed', amount: '1.5000' });
      expect(d1.after).toBeNull();
      for (const e of events) {
        expect(e.keyColumns).toEqual(['id']);
        expect(e.source).toMatchObject({ system: 'shop', connector: 'mysql', database: db.name, schema: db.name, table: 'all_types', snapshot: 'false', origin: null });
        expect(e.source.txId).toMatch(/^\d+-\d+-\d+$/);
        expect(e.source.commitTimeMs % 1000).toBe(0);
        expect(e.correlationId).toBe(`shop@${e.source.position}`);
      }
      // A multi-row statement gives distinct positions; all positions strictly increase.
      const positions = events.map((e) => e.source.position);
      expect(new Set(positions).size).toBe(positions.length);
      expect([...positions].sort(comparePositions)).toEqual(positions);
      expect(i1.source.txId).toBe(i2.source.txId);
      for (const b of c.batches) expect(b.position).toBe(b.events[b.events.length - 1]!.source.position);
      expect(c.events.some((e) => e.source.table === 'other')).toBe(false);
    } finally {
      await c.stop();
    }
  });

  it('DECIMAL values of any precision and scale come through exactly (property)', async () => {
    const { db, conn } = await fresh('my_dec');
    await conn.query('CREATE TABLE d (id INT PRIMARY KEY, a DECIMAL(65,30), b DECIMAL(18,4), c DECIMAL(10,0), e DECIMAL(38,9))');
    const digits = (n: number) => fc.stringMatching(new RegExp(`^[0-9]{1,${n}}$`));
    const dec = (intDigits: number, scale: number) =>
      fc.tuple(fc.boolean(), digits(intDigits), scale > 0 ? fc.stringMatching(new RegExp(`^[0-9]{${scale}}$`)) : fc.constant(''))
        .map(([neg, i, f]) => `${neg ? '-' : ''}${i}${f ? `.${f}` : ''}`);
    const samples = fc.sample(fc.tuple(dec(35, 30), dec(14, 4), dec(10, 0), dec(29, 9)), { numRuns: 150, seed: 42 });
    const c = new Collector({ connectionString: db.url, tables: [`${db.name}.d`] });
    try {
      await c.started(conn, db.name);
      await conn.query(`INSERT INTO d VALUES ${samples.map((s, i) => `(${i}, ${s.join(', ')})`).join(', ')}`);
      const events = await c.waitForEvents(samples.length);
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT id, CAST(a AS CHAR) a, CAST(b AS CHAR) b, CAST(c AS CHAR) c, CAST(e AS CHAR) e FROM d ORDER BY id');
      expect(events.map((e) => e.after)).toEqual(rows.map((r) => ({ id: r.id, a: r.a, b: r.b, c: r.c, e: r.e })));
    } finally {
      await c.stop();
    }
  });

  it('takes an initial snapshot, then streams, losing and doubling nothing while a writer runs', async () => {
    const { db, conn } = await fresh('my_snap');
    await conn.query('CREATE TABLE items (id INT PRIMARY KEY, v INT NOT NULL, t DATETIME(6))');
    await conn.query('CREATE TABLE empty_one (id INT PRIMARY KEY)');
    await conn.query(`INSERT INTO items (id, v, t) SELECT seq, 0, '2024-01-01 00:00:00.5' FROM seq_1_to_3000`);
    let writing = true;
    const writer = (async () => {
      const w = await connectTo(db.url);
      let n = 0;
      while (writing) {
        n++;
        await w.query('UPDATE items SET v = v + 1 WHERE id = ?', [(n % 3000) + 1]);
        await w.query('INSERT INTO items (id, v) VALUES (?, 1)', [100_000 + n]);
        if (n % 5 === 0) await w.query('DELETE FROM items WHERE id = ?', [100_000 + n - 2]);
      }
      await w.end();
    })();
    await new Promise((r) => setTimeout(r, 200));
    const c = new Collector({ connectionString: db.url, tables: [`${db.name}.items`, `${db.name}.empty_one`], snapshot: 'initial', maxBatchEvents: 400 });
    try {
      await waitFor(() => c.batches.some((b) => b.completedSnapshots?.includes(`${db.name}.empty_one`)), { timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 500));
      writing = false;
      await writer;
      const [[final]] = await conn.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) n, SUM(v) s, MAX(id) m FROM items`);
      // Replay every event in order onto a map: it must equal the table.
      const state = new Map<number, number>();
      await waitFor(() => {
        state.clear();
        for (const e of c.events) {
          if (e.op === 'd') state.delete(e.before!.id as number);
          else state.set(e.after!.id as number, e.after!.v as number);
        }
        return state.size === Number(final!.n) && [...state.keys()].reduce((a, b) => Math.max(a, b), 0) === Number(final!.m);
      }, { timeoutMs: 30_000, message: () => `replayed ${state.size} rows, table has ${final!.n}` });
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT id, v FROM items ORDER BY id');
      expect(new Map(rows.map((r) => [r.id as number, r.v as number]))).toEqual(state);
      const snap = c.events.filter((e) => e.op === 'r');
      expect(new Set(snap.map((e) => e.after!.id)).size).toBe(snap.length);
      expect(snap[0]!.source.snapshot).toBe('first');
      expect(snap[snap.length - 1]!.source.snapshot).toBe('last_in_data_collection');
      expect(snap[0]!.after!.t).toBe('2024-01-01T00:00:00.5');
      const stream = c.events.filter((e) => e.op !== 'r');
      expect(stream.length).toBeGreaterThan(0);
      // Every snapshot row sorts before every streamed change.
      expect(comparePositions(snap[snap.length - 1]!.source.position, stream[0]!.source.position)).toBeLessThan(0);
      expect(c.batches.filter((b) => b.completedSnapshots).map((b) => b.completedSnapshots)).toEqual([[`${db.name}.items`], [`${db.name}.empty_one`]]);
    } finally {
      writing = false;
      await writer;
      await c.stop();
    }
  });

  it('snapshot values equal streamed values for every type', async () => {
    const { db, conn } = await fresh('my_snapval');
    await conn.query(ALL_TYPES);
    await conn.query(`INSERT INTO all_types VALUES ${ROW1}, ${ROW2}`);
    const c = new Collector({ connectionString: db.url, tables: [`${db.name}.all_types`], snapshot: 'initial' });
    try {
      const events = await c.waitForEvents(2);
      expect(events.map((e) => e.after)).toEqual([EXPECTED1, EXPECTED2]);
      expect(events.every((e) => e.op === 'r')).toBe(true);
    } finally {
      await c.stop();
    }
  });

  it('restarts from an acknowledged position exactly after it, also in the middle of a transaction', async () => {
    const { db, conn } = await fresh('my_resume');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))');
    const first = new Collector({ connectionString: db.url, tables: [`${db.name}.t`] });
    let all: ChangeEvent[];
    try {
      await first.started(conn, db.name);
      await conn.query(`INSERT INTO t VALUES (1,'a'),(2,'b'),(3,'c')`);
      await conn.query(`BEGIN; INSERT INTO t VALUES (4,'d'); UPDATE t SET v='bb' WHERE id=2; INSERT INTO t VALUES (5,'e'); COMMIT`);
      await conn.query(`DELETE FROM t WHERE id = 1`);
      all = await first.waitForEvents(7);
    } finally {
      await first.stop();
    }
    const ids = (events: ChangeEvent[]) => events.map((e) => `${e.op}${(e.after ?? e.before)!.id}`);
    expect(ids(all)).toEqual(['c1', 'c2', 'c3', 'c4', 'u2', 'c5', 'd1']);
    // From the end of a transaction, and from inside one (a partial batch's position).
    for (const at of [2, 3, 4]) {
      const resumed = new Collector({ connectionString: db.url, tables: [`${db.name}.t`], startPosition: all[at]!.source.position });
      try {
        await conn.query(`INSERT INTO t VALUES (${100 + at}, 'new')`);
        const events = await resumed.waitForEvents(7 - at);
        await new Promise((r) => setTimeout(r, 300));
        expect(ids(resumed.events)).toEqual([...ids(all.slice(at + 1)), ...[2, 3, 4].filter((x) => x <= at).map((x) => `c${100 + x}`)]);
        expect(events.slice(0, 6 - at).map((e) => e.source.position)).toEqual(all.slice(at + 1).map((e) => e.source.position));
      } finally {
        await resumed.stop();
      }
    }
  });

  it('heartbeats give empty batches that move the position on a quiet database', async () => {
    const { db, conn } = await fresh('my_hb');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY)');
    const c = new Collector({ connectionString: db.url, tables: [`${db.name}.t`], heartbeatMs: 150 });
    try {
      await waitFor(() => c.batches.length >= 3, { timeoutMs: 15_000 });
      const beats = c.batches.slice(0, 3);
      for (const b of beats) {
        expect(b.events).toEqual([]);
        expect(b.sourceTimeMs).toBeGreaterThan(0);
      }
      expect(comparePositions(beats[0]!.position, beats[1]!.position)).toBeLessThan(0);
      expect(comparePositions(beats[1]!.position, beats[2]!.position)).toBeLessThan(0);
      const [tables] = await conn.query<mysql.RowDataPacket[]>(`SHOW TABLES LIKE 'tandem_heartbeat'`);
      expect(tables).toHaveLength(1);
      expect(c.events).toEqual([]);
    } finally {
      await c.stop();
    }
  });

  it('a lost connection fails the stream with a retriable CaptureError', async () => {
    const { db, conn } = await fresh('my_lost');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY)');
    const c = new Collector({ connectionString: db.url, tables: [`${db.name}.t`] });
    try {
      await c.started(conn, db.name);
      // Only this source's own binlog connection: other tests' streams run on the same server.
      const threadId = (c.source as unknown as { zongji: { connection: { threadId: number } } }).zongji.connection.threadId;
      await conn.query(`KILL ${Number(threadId)}`);
      await waitFor(() => c.error !== null, { timeoutMs: 15_000 });
      expect(c.error).toMatchObject({ code: 'CAPTURE_FAILED', retriable: true });
    } finally {
      await c.stop();
    }
  });
});
