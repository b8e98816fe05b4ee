import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics';
import { buildInfo } from '../../src/metrics/build-info';

describe('metrics registry', () => {
  it('exports build info, Node/process defaults, the resolve histogram, snapshot and chain gauges', async () => {
    const metrics = createMetrics({
      lagSeconds: () => ({ erp: 0 }), retainedBytes: async () => ({}), outboxDepth: async () => 0, deadLettersOpen: async () => 0,
      exceptionAging: async () => [{ entity: '', system: 'crm', open: 1, oldestAgeSeconds: 5 }],
      snapshots: () => [{ source: 'erp', table: 'public.t', state: 2, rowsDone: 3, rowsEstimated: 3, rowsPerSecond: 3, etaSeconds: 0 }],
      chainVerification: () => ({ ok: true, rows: 12, atMs: 1_700_000_000_000 }),
    });
    metrics.resolveDuration.observe({ system: 'erp' }, 0.02);
    metrics.conflicts.inc({ entity: 'customer', decision: 'rejected', rule: 'customer.credit_limit owner=erp' });
    const text = await metrics.registry.metrics();
    expect(text).toContain(`tandem_build_info{version="${buildInfo().version}",node_version="${process.versions.node}"} 1`);
    expect(buildInfo().version).toMatch(/^\d+\.\d+\.\d+/);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(text).toContain('tandem_batch_resolve_seconds_bucket{le="0.025",system="erp"} 1');
    expect(text).toContain('tandem_snapshot_state{source="erp",table="public.t"} 2');
    expect(text).toContain('tandem_conflict_chain_verified 1');
    expect(text).toContain('tandem_conflict_chain_verified_rows 12');
    expect(text).toContain('tandem_conflicts_total{entity="customer",decision="rejected",rule="customer.credit_limit owner=erp"} 1');
    // An empty value read from the state store is exported as "unknown", never as an empty label.
    expect(text).toContain('tandem_exceptions_open{entity="unknown",system="crm"} 1');
    expect(text).not.toMatch(/=""/);
  });
});
