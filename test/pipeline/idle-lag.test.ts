import { describe, expect, it } from 'vitest';
import { PipelineMetrics } from '../../src/pipeline/metrics';

function heartbeat(system: string, atMs: number) {
  return { system, events: [], position: String(atMs), sourceTimeMs: atMs };
}

describe('capture lag of an idle source', () => {
  it('stays at 0 between heartbeats instead of saw-toothing up to the interval', () => {
    let now = 1_000_000;
    const metrics = new PipelineMetrics(null, () => now);
    metrics.sourceStarted('erp', 10_000);
    const seen: number[] = [];
    for (let beat = 0; beat < 5; beat++) {
      metrics.batchResolved(heartbeat('erp', now), [], [], 0);
      metrics.batchDurable('erp', 0);
      for (let t = 0; t < 10; t++) {
        now += 1_000;
        seen.push(metrics.lagSeconds().erp!);
      }
    }
    expect(Math.max(...seen)).toBe(0);
  });

  it('counts the whole time once the next heartbeat is overdue (capture stuck)', () => {
    let now = 1_000_000;
    const metrics = new PipelineMetrics(null, () => now);
    metrics.sourceStarted('erp', 10_000);
    metrics.batchResolved(heartbeat('erp', now), [], [], 0);
    metrics.batchDurable('erp', 0);
    // Allowance: 1.5 × 10 s + 1 s for whole-second binlog timestamps.
    now += 16_000;
    expect(metrics.lagSeconds().erp).toBe(0);
    now += 1_000;
    expect(metrics.lagSeconds().erp).toBe(17);
  });

  it('counts the time when batches are queued behind (catching up is lag), and without heartbeats', () => {
    let now = 1_000_000;
    const metrics = new PipelineMetrics(null, () => now);
    metrics.sourceStarted('erp', 10_000);
    metrics.sourceStarted('cdc', 0);
    now += 10_000;
    metrics.batchResolved({ system: 'erp', events: [], position: 'a', sourceTimeMs: now - 3_000 }, [], [], 0);
    metrics.batchDurable('erp', 2);
    metrics.batchResolved(heartbeat('cdc', now), [], [], 0);
    metrics.batchDurable('cdc', 0);
    now += 1_000;
    expect(metrics.lagSeconds()).toEqual({ erp: 4, cdc: 1 });
  });
});
