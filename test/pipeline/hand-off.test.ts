import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ApplyTask } from '../../src/apply';
import { HandOff, TaskQueue } from '../../src/pipeline';

const task = (id: number, key: string, createdAtMs = Date.now()): ApplyTask => ({
  id: String(id), target: 'crm', entity: 'customer', key, op: 'upsert', fields: {}, expected: {}, record: {},
  reason: 'propagate', correlationId: `c${id}`, commitTimeMs: null, attempts: 0, createdAtMs,
});

describe('TaskQueue (the in-process hand-off to one apply stage)', () => {
  it('gives each round the oldest task of each record, so a record is written in order', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 60 }), fc.integer({ min: 1, max: 5 }), (keys, limit) => {
      const queue = new TaskQueue(1000);
      queue.push(keys.map((k, i) => task(i, k)));
      const applied: ApplyTask[] = [];
      while (queue.size > 0) {
        const { round, stale } = queue.takeRound(limit, 60_000);
        expect(stale).toEqual([]);
        expect(round.length).toBeLessThanOrEqual(limit);
        expect(new Set(round.map((t) => t.key)).size).toBe(round.length);
        applied.push(...round);
      }
      // Every task once; per record in queue order.
      expect(applied.map((t) => t.id).sort()).toEqual(keys.map((_, i) => String(i)).sort());
      for (const k of new Set(keys)) {
        const ids = applied.filter((t) => t.key === k).map((t) => Number(t.id));
        expect(ids).toEqual([...ids].sort((x, y) => x - y));
      }
    }));
  });

  it('returns tasks queued past their lease margin apart, and takes a record\'s later tasks on request', () => {
    const queue = new TaskQueue(10);
    queue.push([task(1, 'a', 0), task(2, 'b'), task(3, 'a'), task(4, 'c')]);
    const { round, stale } = queue.takeRound(10, 30_000);
    expect(stale.map((t) => t.id)).toEqual(['1']);
    expect(round.map((t) => t.id)).toEqual(['2', '4']);
    expect(queue.takeRecords(new Set(['customer\u0000a'])).map((t) => t.id)).toEqual(['3']);
    expect(queue.size).toBe(0);
  });

  it('a round that failed goes back ahead of the rest and keeps each record in order; the oldest queued task of each record is known', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 4 }), (keys, limit) => {
      const queue = new TaskQueue(1000);
      queue.push(keys.map((k, i) => task(i + 1, k)));
      const { round } = queue.takeRound(limit, Number.POSITIVE_INFINITY);
      queue.putBack([...round].reverse());
      const oldest = queue.oldestQueued();
      for (const k of new Set(keys)) expect(oldest.get(`customer\u0000${k}`)).toBe(BigInt(keys.indexOf(k) + 1));
      const applied: ApplyTask[] = [];
      while (queue.size > 0) applied.push(...queue.takeRound(limit, Number.POSITIVE_INFINITY).round);
      expect(applied).toHaveLength(keys.length);
      for (const k of new Set(keys)) {
        const ids = applied.filter((t) => t.key === k).map((t) => Number(t.id));
        expect(ids).toEqual([...ids].sort((x, y) => x - y));
      }
    }));
  });

  it('once a target has tasks waiting in an intent, later ones wait behind them; they are read back only into a queue at most half full', () => {
    const handOff = new HandOff('me', 60_000, 'intent');
    const queue = handOff.queue('crm', 4);
    expect(handOff.accepts('crm', 3)).toBe(true);
    queue.push([task(1, 'a'), task(2, 'b'), task(3, 'c')]);
    expect(handOff.accepts('crm', 2)).toBe(false);
    // The intent's tasks do not fit: they stay in it.
    expect(handOff.deliverIntent('7', [task(10, 'a'), task(11, 'd')])).toEqual([]);
    expect(queue.size).toBe(3);
    // Room again, but an intent waits: new tasks queue behind it, not in front.
    queue.takeRound(2, Number.POSITIVE_INFINITY);
    expect(handOff.accepts('crm', 1)).toBe(false);
    expect(queue.firstDeferredId).toBe(10n);
    expect(queue.nextDeferred()).toEqual({ intentId: '7', firstTaskId: 10n });
    expect(queue.hasDeferred).toBe(false);
    expect(handOff.accepts('crm', 1)).toBe(true);
    queue.push([task(4, 'a'), task(5, 'b')]);
    queue.undefer({ intentId: '8', firstTaskId: 20n });
    expect(queue.nextDeferred()).toBeNull(); // three queued of four: more than half full
    queue.close();
    expect(handOff.deliverIntent('9', [task(30, 'a')]).map((t) => t.id)).toEqual(['30']);
    expect(handOff.serves('crm')).toBe(false);
  });

  it('refuses tasks once closed, handing back what it held', () => {
    const handOff = new HandOff('me', 60_000);
    const queue = handOff.queue('crm', 4);
    expect(handOff.accepts('crm', 4)).toBe(true);
    expect(handOff.accepts('crm', 5)).toBe(false);
    expect(handOff.accepts('erp', 1)).toBe(false); // no apply stage here for erp
    expect(handOff.deliver([task(1, 'a'), task(2, 'b')])).toEqual([]);
    expect(queue.close().map((t) => t.id)).toEqual(['1', '2']);
    expect(handOff.accepts('crm', 1)).toBe(false);
    expect(handOff.deliver([task(3, 'a')]).map((t) => t.id)).toEqual(['3']);
  });

  it('holds the resolve stage back while a busy stage\'s queue is over half full, not while a stalled one\'s is', async () => {
    const handOff = new HandOff('me', 60_000);
    const queue = handOff.queue('crm', 4);
    handOff.deliver([task(1, 'a'), task(2, 'b'), task(3, 'c')]);
    let waited = false;
    const wait = handOff.waitForRoom(5_000).then(() => (waited = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(waited).toBe(false);
    queue.takeRound(2, 60_000);
    await wait;
    expect(queue.size).toBe(1);
    // A stage that has taken nothing for a while (a hung target) is not waited for.
    handOff.deliver([task(4, 'd'), task(5, 'e')]);
    queue.lastTakeAt = Date.now() - 60_000;
    const started = Date.now();
    await handOff.waitForRoom(5_000);
    expect(Date.now() - started).toBeLessThan(500);
  });
});
