import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AckTracker } from '../../src/capture/shared/ack-tracker';
import { BatchAssembler, type PendingBatch } from '../../src/capture/shared/batch-assembler';
import { ChangeDecoder, HEARTBEAT_PREFIX, type Decoded } from '../../src/capture/postgres/change-decoder';
import { formatLsn, lsnOfPosition, parseLsn, positionOf } from '../../src/capture/postgres/lsn';
import { parsePgoutput } from '../../src/capture/postgres/pgoutput';
import { parseCopyData, standbyStatus } from '../../src/capture/postgres/wire';
import type { ChangeEvent } from '../../src/capture';
import { encode, TOAST } from './pgoutput-encoder';

const COMMIT_MICROS = 764_000_000_000_000n; // 2024-03-18T14:13:20Z
const COMMIT_MS = 946_684_800_000 + 764_000_000_000;

describe('pgoutput parser', () => {
  it('parses every message type', () => {
    expect(parsePgoutput(encode.begin(0x1_0000_0010n, COMMIT_MICROS, 4_000_000_000))).toEqual({ tag: 'begin', finalLsn: 0x1_0000_0010n, commitTime: COMMIT_MICROS, xid: 4_000_000_000 });
    expect(parsePgoutput(encode.commit(16n, 40n, COMMIT_MICROS))).toEqual({ tag: 'commit', flags: 0, commitLsn: 16n, endLsn: 40n, commitTime: COMMIT_MICROS });
    expect(parsePgoutput(encode.origin(5n, 'tandem'))).toEqual({ tag: 'origin', originLsn: 5n, name: 'tandem' });
    expect(parsePgoutput(encode.relation(42, 'public', 'ü', 'd', [{ name: 'id', type: 23, key: true }, { name: 'x', type: 25 }]))).toEqual({
      tag: 'relation', oid: 42, schema: 'public', table: 'ü', replicaIdentity: 'd',
      columns: [{ name: 'id', typeOid: 23, typeMod: -1, isKey: true }, { name: 'x', typeOid: 25, typeMod: -1, isKey: false }],
    });
    expect(parsePgoutput(encode.type(9000, 'public', 'mood'))).toEqual({ tag: 'type', oid: 9000, schema: 'public', name: 'mood' });
    expect(parsePgoutput(encode.insert(42, ['1', null, TOAST]))).toEqual({
      tag: 'insert', relationOid: 42, newTuple: [{ kind: 'text', text: '1' }, { kind: 'null' }, { kind: 'unchanged' }],
    });
    expect(parsePgoutput(encode.update(42, ['2'], { kind: 'K', values: ['1'] }))).toMatchObject({ tag: 'update', oldKind: 'K', oldTuple: [{ kind: 'text', text: '1' }] });
    expect(parsePgoutput(encode.update(42, ['2']))).toMatchObject({ tag: 'update', oldKind: null, oldTuple: null });
    expect(parsePgoutput(encode.delete(42, 'O', ['1']))).toMatchObject({ tag: 'delete', oldKind: 'O' });
    expect(parsePgoutput(encode.truncate([42, 43], 1))).toEqual({ tag: 'truncate', options: 1, relationOids: [42, 43] });
    const message = parsePgoutput(encode.message(false, 99n, 'p', 'hi'));
    expect(message).toMatchObject({ tag: 'message', transactional: false, lsn: 99n, prefix: 'p' });
  });

  it('rejects unknown and truncated messages', () => {
    expect(() => parsePgoutput(Buffer.from('Z'))).toThrow(/unknown message/);
    expect(() => parsePgoutput(encode.begin(1n, 1n, 1).subarray(0, 10))).toThrow(/truncated/);
  });

  it('round-trips any text tuple', () => {
    fc.assert(fc.property(fc.array(fc.option(fc.string({ unit: 'grapheme' }), { nil: null })), (values) => {
      const parsed = parsePgoutput(encode.insert(7, values));
      expect(parsed.tag === 'insert' && parsed.newTuple.map((v) => (v.kind === 'text' ? v.text : null))).toEqual(values);
    }));
  });
});

describe('replication wire messages', () => {
  it('parses XLogData and keepalives and builds status updates', () => {
    const xlog = Buffer.concat([Buffer.from('w'), u64(10n), u64(20n), u64(0n), Buffer.from('B')]);
    expect(parseCopyData(xlog)).toMatchObject({ kind: 'xlog', walStart: 10n, walEnd: 20n });
    const keepalive = Buffer.concat([Buffer.from('k'), u64(30n), u64(0n), Buffer.from([1])]);
    expect(parseCopyData(keepalive)).toEqual({ kind: 'keepalive', walEnd: 30n, replyRequested: true });
    const status = standbyStatus(0x1_0000_0001n, COMMIT_MS);
    expect(status.length).toBe(34);
    expect(status.toString('latin1', 0, 1)).toBe('r');
    expect(status.readBigUInt64BE(9)).toBe(0x1_0000_0001n);
    expect(status.readBigInt64BE(25)).toBe(COMMIT_MICROS);
  });
});

describe('LSNs and positions', () => {
  it('formats and parses LSNs, and positions sort like (lsn, index)', () => {
    expect(formatLsn(parseLsn('16/B374D848'))).toBe('16/B374D848');
    const lsn = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    fc.assert(fc.property(lsn, lsn, fc.nat(), fc.nat(), (a, b, i, j) => {
      expect(parseLsn(formatLsn(a))).toBe(a);
      expect(lsnOfPosition(positionOf(a, i))).toBe(a);
      const cmp = a === b ? Math.sign(i - j) : a < b ? -1 : 1;
      const pa = positionOf(a, i);
      const pb = positionOf(b, j);
      expect(pa < pb ? -1 : pa > pb ? 1 : 0).toBe(cmp);
    }));
  });
});

describe('ChangeDecoder', () => {
  const ctx = { system: 'erp', database: 'db', tables: new Set(['public.t', 'public.f']), primaryKeys: new Map([['public.f', ['id']]]), now: () => 1 };
  const relation = encode.relation(1, 'public', 't', 'd', [{ name: 'id', type: 23, key: true }, { name: 'doc', type: 25 }, { name: 'tags', type: 1009 }]);
  const full = encode.relation(2, 'public', 'f', 'f', [{ name: 'id', type: 23, key: true }, { name: 'v', type: 25, key: true }]);
  const other = encode.relation(3, 'public', 'other', 'd', [{ name: 'id', type: 23, key: true }]);
  const run = (decoder: ChangeDecoder, ...messages: Buffer[]): Decoded[] => messages.flatMap((m) => decoder.decode(parsePgoutput(m)));
  const eventsOf = (items: Decoded[]): ChangeEvent[] => items.flatMap((d) => (d.kind === 'event' ? [d.event] : []));

  it('turns a transaction into events with positions, origin and TOAST handling', () => {
    const decoder = new ChangeDecoder(ctx);
    const items = run(decoder, relation, full, other,
      encode.begin(0x100n, COMMIT_MICROS, 77), encode.origin(0x90n, 'tandem'),
      encode.insert(1, ['1', 'big', '{a,NULL}']),
      encode.insert(3, ['9']),
      encode.update(1, ['1', TOAST, '{}']),
      encode.update(1, ['2', 'x', null], { kind: 'K', values: ['1', null, null] }),
      encode.update(2, ['5', 'new'], { kind: 'O', values: ['5', 'old'] }),
      encode.delete(1, 'K', ['2', null, null]),
      encode.truncate([1, 2]),
      encode.commit(0x100n, 0x130n, COMMIT_MICROS));
    const events = eventsOf(items);
    expect(events.map((e) => e.op)).toEqual(['c', 'u', 'd', 'c', 'u', 'd', 't', 't']);
    expect(events.map((e) => e.source.position)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => positionOf(0x100n, i)));
    const [insert, toast, keyDelete, keyInsert, fullUpdate, del, truncate] = events;
    expect(insert).toMatchObject({ after: { id: 1, doc: 'big', tags: ['a', null] }, keyColumns: ['id'], unavailable: [], correlationId: `erp@${positionOf(0x100n, 0)}` });
    expect(insert!.source).toEqual({ system: 'erp', connector: 'postgresql', database: 'db', schema: 'public', table: 't', position: positionOf(0x100n, 0), txId: '77', commitTimeMs: COMMIT_MS, snapshot: 'false', origin: 'tandem' });
    expect(toast).toMatchObject({ before: { id: 1 }, after: { id: 1, tags: [] }, unavailable: ['doc'] });
    expect('doc' in toast!.after!).toBe(false);
    // A key change becomes delete(old key) + create(new key), like Debezium.
    expect(keyDelete).toMatchObject({ before: { id: 1 }, after: null });
    expect(keyInsert).toMatchObject({ before: null, after: { id: 2, doc: 'x', tags: null } });
    // FULL flags every column as identity: the catalog primary key is the key, the before-image is whole.
    expect(fullUpdate).toMatchObject({ before: { id: 5, v: 'old' }, after: { id: 5, v: 'new' }, keyColumns: ['id'] });
    expect(del).toMatchObject({ before: { id: 2 }, after: null });
    expect(truncate).toMatchObject({ before: null, after: null, source: { table: 't' } });
    expect(items[items.length - 1]).toEqual({ kind: 'commit', commitLsn: 0x100n, endLsn: 0x130n, commitTimeMs: COMMIT_MS, events: 8 });
    expect(decoder.inTransaction).toBe(false);
  });

  it('reports heartbeats and ignores other messages', () => {
    const decoder = new ChangeDecoder(ctx);
    expect(run(decoder, encode.message(false, 0x500n, HEARTBEAT_PREFIX, ''))).toEqual([{ kind: 'heartbeat', lsn: 0x500n }]);
    expect(run(decoder, encode.message(false, 0x600n, 'other', 'x'))).toEqual([]);
  });

  it('decodes arrays of user types as text', () => {
    const decoder = new ChangeDecoder(ctx);
    const rel = encode.relation(1, 'public', 't', 'd', [{ name: 'id', type: 23, key: true }, { name: 'moods', type: 9001 }]);
    const events = eventsOf(run(decoder, encode.type(9001, 'public', '_mood'), rel, encode.begin(1n, 0n, 1), encode.insert(1, ['1', '{happy,sad}']), encode.commit(1n, 2n, 0n)));
    expect(events[0]!.after).toEqual({ id: 1, moods: ['happy', 'sad'] });
  });

  it('fails on a change for an unknown relation', () => {
    const decoder = new ChangeDecoder(ctx);
    expect(() => run(decoder, encode.begin(1n, 0n, 1), encode.insert(99, ['1']))).toThrow(/Relation/);
  });
});

describe('BatchAssembler and AckTracker', () => {
  const event = (lsn: bigint, index: number): ChangeEvent => ({
    op: 'c', before: null, after: { i: index }, unavailable: [], keyColumns: [], tsMs: 0, correlationId: '',
    source: { system: 's', connector: 'postgresql', database: 'd', schema: 'public', table: 't', position: positionOf(lsn, index), txId: '1', commitTimeMs: 5, snapshot: 'false', origin: null },
  });

  it('keeps transactions whole, splits huge ones, and never lets a partial batch confirm its transaction', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 12 }), fc.integer({ min: 1, max: 5 }), (sizes, max) => {
      const out: PendingBatch[] = [];
      const assembler = new BatchAssembler('s', max, (p) => out.push(p));
      sizes.forEach((size, t) => {
        const lsn = BigInt((t + 1) * 100);
        for (let i = 0; i < size; i++) assembler.add(event(lsn, i));
        assembler.commit(5, lsn + 1n);
      });
      assembler.flush();
      const events = out.flatMap((p) => p.batch.events);
      expect(events.length).toBe(sizes.reduce((a, b) => a + b, 0));
      const positions = events.map((e) => e.source.position);
      expect([...positions].sort()).toEqual(positions);
      for (const p of out) {
        expect(p.batch.position).toBe(p.batch.events[p.batch.events.length - 1]!.source.position);
        const last = p.batch.events[p.batch.events.length - 1]!;
        const lsn = lsnOfPosition(last.source.position)!;
        const size = sizes[Number(lsn / 100n) - 1]!;
        const endsTx = Number.parseInt(last.source.position.slice(17), 16) === size - 1;
        // Only a batch that ends a transaction may confirm it; then exactly commit LSN + 1.
        expect(p.flushLsn).toBe(endsTx ? lsn + 1n : null);
        if (p.flushLsn === null) expect(p.batch.events.length).toBeGreaterThanOrEqual(1);
        else expect(p.batch.events.length).toBeLessThanOrEqual(Math.max(max, 1) + max);
      }
    }));
  });

  it('confirms only what was acknowledged', () => {
    const acks = new AckTracker(10n);
    const batch = (position: string, flushLsn: bigint | null): PendingBatch => ({ batch: { system: 's', events: [], position, sourceTimeMs: 0 }, flushLsn });
    acks.record(batch(positionOf(100n, 3), 101n));
    acks.record(batch(positionOf(200n, 1), null));
    acks.record(batch(positionOf(200n, 2), 201n));
    acks.acknowledge(positionOf(50n, 0)); // from before a restart: releases nothing
    expect(acks.confirmed).toBe(10n);
    acks.acknowledge(positionOf(200n, 1));
    expect(acks.confirmed).toBe(101n);
    expect(acks.settled).toBe(false);
    acks.acknowledge(positionOf(200n, 2));
    expect(acks.confirmed).toBe(201n);
    expect(acks.settled).toBe(true);
    acks.raiseFloor(150n);
    expect(acks.confirmed).toBe(201n);
  });
});

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}
