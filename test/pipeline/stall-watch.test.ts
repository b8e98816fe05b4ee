import { describe, expect, it } from 'vitest';
import { StallWatch } from '../../src/pipeline/stall-watch';

describe('stall watch', () => {
  it('a stage with work in hand and no progress past the allowance is stalled; idle time is not', () => {
    let now = 0;
    const watch = new StallWatch(() => now);
    watch.begin('resolve:erp');
    now = 5_000;
    expect(watch.stalled(10_000)).toEqual([]);
    watch.end('resolve:erp');
    now = 60_000; // idle for 55 s: not a stall
    expect(watch.stalled(10_000)).toEqual([]);
    watch.begin('resolve:erp');
    now = 71_000;
    expect(watch.stalled(10_000)).toEqual([{ stage: 'resolve:erp', seconds: 11 }]);
    watch.progress('resolve:erp');
    expect(watch.stalled(10_000)).toEqual([]);
    watch.end('resolve:erp');
  });

  it('around() ends the work even when it fails', async () => {
    let now = 0;
    const watch = new StallWatch(() => now);
    await expect(watch.around('apply:crm', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    now = 100_000;
    expect(watch.stalled(1_000)).toEqual([]);
    const blocked = watch.around('apply:crm', () => new Promise<void>(() => undefined));
    void blocked;
    now = 102_000;
    expect(watch.stalled(1_000).map((s) => s.stage)).toEqual(['apply:crm']);
  });
});
