import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics';
import { boundedProbe } from '../../src/metrics/bounded-probe';

describe('scrape-time probes that read a database', () => {
  it('answer within the timeout or give undefined, one call at a time while a call hangs', async () => {
    let calls = 0;
    let finish: (value: number) => void = () => undefined;
    const misses: string[] = [];
    const probe = boundedProbe('outbox_depth', () => { calls++; return new Promise<number>((r) => (finish = r)); }, (n) => misses.push(n), 50);
    expect(await probe()).toBeUndefined();
    expect(await probe()).toBeUndefined();
    expect(calls).toBe(1);
    expect(misses).toEqual(['outbox_depth', 'outbox_depth']);
    finish(7);
    await new Promise((r) => setTimeout(r, 0));
    const next = probe();
    finish(8);
    expect(await next).toBe(8);
    expect(calls).toBe(2);
    const failing = boundedProbe('x', () => Promise.reject(new Error('gone')), (n) => misses.push(n), 50);
    expect(await failing()).toBeUndefined();
    expect(misses).toHaveLength(3);
  });

  it('/metrics still answers when the state store hangs: gauges keep their last value and the miss is counted', async () => {
    let hang = false;
    const metrics = createMetrics({
      lagSeconds: () => ({ erp: 0 }), retainedBytes: async () => ({ erp: 10 }),
      outboxDepth: () => (hang ? new Promise<number>(() => undefined) : Promise.resolve(5)),
      deadLettersOpen: async () => 0,
      updateLag: () => (hang ? new Promise(() => undefined) : Promise.resolve([{ entity: 'customer', seconds: 3 }])),
    });
    expect(await metrics.registry.metrics()).toContain('tandem_outbox_depth 5');
    hang = true;
    const started = Date.now();
    const text = await metrics.registry.metrics();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(text).toContain('tandem_outbox_depth 5');
    expect(text).toContain('tandem_update_lag_seconds{entity="customer"} 3');
    // Counters are read as the scrape begins: the misses show in the next one.
    const next = await metrics.registry.metrics();
    expect(next).toContain('tandem_metrics_probe_timeouts_total{probe="outbox_depth"} 1');
    expect(next).toContain('tandem_metrics_probe_timeouts_total{probe="update_lag"} 1');
  });
});
