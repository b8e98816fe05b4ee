/** Value conversion and position encoding of the native MySQL source (no server needed). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { comparePositions } from '../../../src/capture';
import { mysqlPosition } from '../../../src/capture/debezium/position';
import { BinlogDecoder, type BinlogEvent } from '../../../src/capture/mysql/binlog-decoder';
import { resumePointOf, snapshotPosition, streamPosition } from '../../../src/capture/mysql/position';
import type { TableInfo } from '../../../src/capture/mysql/schema';
import { bitString, convertValue, kindOfBinlogColumn, kindOfSchemaColumn, shortestFloat32 } from '../../../src/capture/mysql/values';

describe('MySQL value conversion', () => {
  it('gives the PostgreSQL source representation', () => {
    expect(convertValue('12345678901234.5678', { kind: 'decimal' })).toBe('12345678901234.5678');
    expect(convertValue('2024-01-02 03:04:05.123450', { kind: 'datetime' })).toBe('2024-01-02T03:04:05.12345');
    expect(convertValue('2024-01-02 03:04:05.000000', { kind: 'datetime' })).toBe('2024-01-02T03:04:05');
    expect(convertValue('2024-01-02 03:04:05.5', { kind: 'timestamp' })).toBe('2024-01-02T03:04:05.5Z');
    expect(convertValue('0000-00-00 00:00:00', { kind: 'timestamp' })).toBeNull();
    expect(convertValue('0000-00-00', { kind: 'date' })).toBeNull();
    expect(convertValue('2024-02-29', { kind: 'date' })).toBe('2024-02-29');
    expect(convertValue('-838:59:59.000001', { kind: 'time' })).toBe('-838:59:59.000001');
    expect(convertValue('12:00:00.000000', { kind: 'time' })).toBe('12:00:00');
    expect(convertValue('{"a":[1,2.50]}', { kind: 'json' })).toEqual({ a: [1, 2.5] });
    expect(convertValue(Buffer.from([0, 255]), { kind: 'bytes' })).toBe('AP8=');
    expect(convertValue(Buffer.from([2, 131]), { kind: 'bit', bits: 10 })).toBe('1010000011');
    expect(convertValue(Buffer.from([1]), { kind: 'bit', bits: 1 })).toBe('1');
    expect(convertValue(7, { kind: 'bigint' })).toBe('7');
    expect(convertValue('9007199254740993', { kind: 'bigint' })).toBe('9007199254740993');
    expect(convertValue(1.100000023841858, { kind: 'float' })).toBe(1.1);
    expect(convertValue(undefined, { kind: 'enum' })).toBe('');
    expect(convertValue(null, { kind: 'set' })).toBeNull();
    expect(convertValue('b,c', { kind: 'set' })).toBe('b,c');
    expect(convertValue('😀', { kind: 'text' })).toBe('😀');
    expect(() => convertValue('1e5', { kind: 'decimal' })).toThrow(/exact decimal/);
    expect(() => convertValue(new Date(0), { kind: 'datetime' })).toThrow(/dateStrings/);
  });

  it('binlog and information_schema kinds agree', () => {
    const pairs: [number, string, boolean][] = [
      [3, 'int', true], [8, 'bigint', true], [4, 'float', true], [5, 'double', true], [246, 'decimal', true], [10, 'date', true],
      [18, 'datetime', true], [17, 'timestamp', true], [19, 'time', true], [13, 'year', true], [16, 'bit', true], [247, 'enum', true],
      [248, 'set', true], [15, 'varchar', true], [252, 'text', true], [252, 'blob', false], [254, 'binary', false], [15, 'varbinary', false],
    ];
    for (const [code, dataType, isText] of pairs) {
      expect(kindOfBinlogColumn(code, false, isText).kind).toBe(kindOfSchemaColumn(dataType, false).kind);
    }
    expect(kindOfBinlogColumn(252, true, true).kind).toBe('json');
  });

  it('FLOAT: the shortest decimal that is the same float32 (property)', () => {
    fc.assert(fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (f) => {
      // -0 has no JSON number form: the canonical string (issue 12).
      if (Object.is(f, -0)) {
        expect(shortestFloat32(f)).toBe('-0');
        return;
      }
      const out = shortestFloat32(f) as number;
      expect(Object.is(Math.fround(out), Math.fround(f))).toBe(true);
      expect(Number(out.toPrecision(9))).toBe(out); // at most 9 significant digits
    }));
  });

  it('BIT: big-endian bytes ↔ bit string (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (bits, n) => {
      const value = n & ((1n << BigInt(bits)) - 1n);
      const bytes = Buffer.from(value.toString(16).padStart(Math.ceil(bits / 8) * 2, '0'), 'hex');
      const text = bitString(bytes, bits);
      expect(text).toHaveLength(bits);
      expect(BigInt(`0b${text}`)).toBe(value);
    }));
  });

  it('DATETIME text keeps every fraction digit (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1000, max: 9999 }), fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 0, max: 6 }), (y, micros, digits) => {
      const frac = digits === 0 ? '' : `.${String(micros).padStart(6, '0').slice(0, digits)}`;
      const out = convertValue(`${y}-06-30 23:59:58${frac}`, { kind: 'datetime' }) as string;
      expect(out.startsWith(`${y}-06-30T23:59:58`)).toBe(true);
      expect(Number(`0${out.slice(19) || '.0'}`)).toBe(Number(`0${frac || '.0'}`));
    }));
  });
});

describe('MySQL positions', () => {
  it('use the Debezium path encoding', () => {
    expect(streamPosition({ fileNumber: 3, pos: 164744 }, 2)).toBe(mysqlPosition('binlog.000003', 164744n, 2n, null));
    expect(streamPosition({ fileNumber: 3, pos: 164744 }, 2)).toBe('00000003:0000000000028388:00000002');
  });

  it('order as the stream does, snapshot rows first, and decode back (property)', () => {
    const point = fc.record({ fileNumber: fc.integer({ min: 1, max: 999_999 }), pos: fc.integer({ min: 4, max: 2 ** 40 }) });
    fc.assert(fc.property(point, point, fc.nat(0x7fffffff), fc.nat(0x7fffffff), (a, b, i, j) => {
      const pa = streamPosition(a, i);
      const pb = streamPosition(b, j);
      const expected = a.fileNumber - b.fileNumber || a.pos - b.pos || i - j;
      expect(Math.sign(comparePositions(pa, pb))).toBe(Math.sign(expected));
      expect(resumePointOf(pa)).toEqual({ point: a, skipThrough: i });
      const snap = snapshotPosition(a, j);
      expect(comparePositions(snap, streamPosition(a, 0))).toBeLessThan(0);
      expect(resumePointOf(snap)).toEqual({ point: a, skipThrough: -1 });
    }));
  });

  it('rejects other encodings', () => {
    expect(() => resumePointOf('0000000000000001:00000001')).toThrow(/not a binlog position/);
  });
});

describe('binlog decoder', () => {
  const info: TableInfo = {
    database: 'shop', table: 'items', keyColumns: ['id'], jsonColumns: new Set(['doc']),
    columns: [],
  };
  const tableMap = { 7: { parentSchema: 'shop', tableName: 'items', columns: [{ name: 'id', type: 3 }, { name: 'doc', type: 252 }] } };
  const ev = (type: string, extra: Partial<BinlogEvent> = {}): BinlogEvent => ({ getTypeName: () => type, timestamp: 1_700_000_000_000, nextPosition: 0, ...extra });
  const tx = (start: number, rows: unknown[], end: number, gtid: string): BinlogEvent[] => [
    ev('MariadbGtid', { gtid, nextPosition: start + 40 }),
    ev('WriteRows', { gtid, tableId: 7, tableMap, rows, nextPosition: start + 200 }),
    ev('Xid', { gtid, xid: 9, nextPosition: end }),
  ];

  it('positions rows by transaction start and index, and skips what a restart already delivered', () => {
    const decoder = new BinlogDecoder({ system: 's', tables: new Map([['shop.items', info]]), resume: { point: { fileNumber: 3, pos: 100 }, skipThrough: 0 } });
    const out = [ev('Rotate', { binlogName: 'binlog.000003', position: 100 }), ...tx(100, [{ id: 1, doc: '{"a":1}' }, { id: 2, doc: null }], 400, '0-1-5'),
      ...tx(400, [{ id: 3, doc: '[]' }], 700, '0-1-6')].flatMap((e) => decoder.decode(e));
    const events = out.flatMap((d) => (d.kind === 'event' ? [d.event] : []));
    expect(events.map((e) => [e.after!.id, e.source.position, e.source.txId])).toEqual([
      [2, streamPosition({ fileNumber: 3, pos: 100 }, 1), '0-1-5'],
      [3, streamPosition({ fileNumber: 3, pos: 400 }, 0), '0-1-6'],
    ]);
    expect(events[0]!.after).toEqual({ id: 2, doc: null });
    expect(events[1]!.after).toEqual({ id: 3, doc: [] });
    expect(out.filter((d) => d.kind === 'commit').map((d) => d.kind === 'commit' && d.position)).toEqual([events[0]!.source.position, events[1]!.source.position]);
  });

  it('an undecodable value is a DecodeError naming the column', () => {
    const decoder = new BinlogDecoder({ system: 's', tables: new Map([['shop.items', info]]), resume: { point: { fileNumber: 3, pos: 100 }, skipThrough: -1 } });
    decoder.decode(ev('MariadbGtid', { gtid: '0-1-1' }));
    expect(() => decoder.decode(ev('WriteRows', { tableId: 7, tableMap, rows: [{ id: 1, doc: '{bad' }] }))).toThrow(/bad JSON value.*column doc/);
  });

  it("marks the rows of event groups written with the echo server id with tandem's origin", () => {
    const decoder = new BinlogDecoder({
      system: 's', tables: new Map([['shop.items', info]]), resume: { point: { fileNumber: 3, pos: 100 }, skipThrough: -1 }, echo: { serverId: 4242, origin: 'tandem' },
    });
    const group = (start: number, id: number, serverId: number): BinlogEvent[] => [
      ev('MariadbGtid', { gtid: `0-${serverId}-${id}`, serverId, nextPosition: start + 40 }),
      ev('WriteRows', { tableId: 7, tableMap, rows: [{ id, doc: null }], nextPosition: start + 200 }),
      ev('Xid', { xid: id, nextPosition: start + 300 }),
    ];
    const events = [...group(100, 1, 4242), ...group(400, 2, 1), ...group(700, 3, 4242)]
      .flatMap((e) => decoder.decode(e))
      .flatMap((d) => (d.kind === 'event' ? [d.event] : []));
    expect(events.map((e) => [e.after!.id, e.source.origin])).toEqual([[1, 'tandem'], [2, null], [3, 'tandem']]);

    // Without an echo server id configured, nothing is marked.
    const plain = new BinlogDecoder({ system: 's', tables: new Map([['shop.items', info]]), resume: { point: { fileNumber: 3, pos: 100 }, skipThrough: -1 } });
    expect(group(100, 1, 4242).flatMap((e) => plain.decode(e)).flatMap((d) => (d.kind === 'event' ? [d.event.source.origin] : []))).toEqual([null]);
  });
});
