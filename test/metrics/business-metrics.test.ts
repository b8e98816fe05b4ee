import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics';
import { PipelineMetrics } from '../../src/pipeline/metrics';

describe('business metrics', () => {
  it('exports sync completion per entity and target, update lag per entity, and open exceptions with the oldest one’s age', async () => {
    let exceptions = [
      { entity: 'customer', system: 'erp', open: 3, oldestAgeSeconds: 7200 },
      { entity: 'sales_order', system: 'crm', open: 1, oldestAgeSeconds: 30 },
    ];
    const prom = createMetrics({
      lagSeconds: () => ({}), retainedBytes: async () => ({}), outboxDepth: async () => 0, deadLettersOpen: async () => 0,
      exceptionAging: async () => exceptions,
      updateLag: async () => [{ entity: 'customer', seconds: 12.5 }],
    });
    const metrics = new PipelineMetrics(prom);
    const now = 1_000_000;
    metrics.taskCompleted({ entity: 'customer', commitTimeMs: now - 750, reason: 'propagate' }, 'crm', now);
    metrics.taskCompleted({ entity: 'customer', commitTimeMs: now - 40_000, reason: 'propagate' }, 'crm', now);
    metrics.taskCompleted({ entity: 'customer', commitTimeMs: null, reason: 'propagate' }, 'crm', now); // unknown commit time: not observed
    metrics.taskCompleted({ entity: 'customer', commitTimeMs: now - 5, reason: 'exception' }, 'crm', now); // write-backs are not sync
    const text = await prom.registry.metrics();
    expect(text).toContain('tandem_sync_completion_seconds_count{entity="customer",target="crm"} 2');
    expect(text).toContain('tandem_sync_completion_seconds_bucket{le="1",entity="customer",target="crm"} 1');
    expect(text).toContain('tandem_sync_completion_seconds_bucket{le="60",entity="customer",target="crm"} 2');
    expect(text).toContain('tandem_update_lag_seconds{entity="customer"} 12.5');
    expect(text).toContain('tandem_exceptions_open{entity="customer",system="erp"} 3');
    expect(text).toContain('tandem_exceptions_oldest_age_seconds{entity="customer",system="erp"} 7200');
    expect(text).toContain('tandem_exceptions_open{entity="sales_order",system="crm"} 1');
    // Resolved exceptions disappear from the series instead of freezing at their last value.
    exceptions = [];
    await new Promise((resolve) => setTimeout(resolve, 10)); // the next scrape (one query serves the gauges of one scrape)
    expect(await prom.registry.metrics()).not.toContain('tandem_exceptions_open{');
  });
});
