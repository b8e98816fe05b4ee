import type { Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { createMetrics, serveMetrics } from '../../src/metrics';

describe('/metrics, /healthz, /readyz', () => {
  let server: Server | undefined;
  let healthy = true;
  let ready = false;
  afterAll(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it('serves Prometheus text with lag, slot WAL, events, conflicts, tasks and outbox depth', async () => {
    const metrics = createMetrics({
      lagSeconds: () => ({ erp: 1.5, crm: 0.25 }),
      retainedBytes: async () => ({ erp: 4096, crm: null }),
      consumerLag: async () => ({ erp: null, crm: 42 }),
      outboxDepth: async () => 7,
      deadLettersOpen: async () => 2,
    });
    metrics.events.inc({ stage: 'captured', system: 'erp' }, 10);
    metrics.conflicts.inc({ entity: 'customer', decision: 'rejected' });
    metrics.tasks.inc({ target: 'crm', outcome: 'applied' }, 3);
    server = await serveMetrics(metrics.registry, { healthy: () => healthy, ready: async () => ready }, '127.0.0.1', 0);
    const port = (server.address() as { port: number }).port;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toContain('tandem_capture_lag_seconds{system="erp"} 1.5');
    expect(text).toContain('tandem_replication_slot_retained_bytes{system="erp"} 4096');
    expect(text).not.toContain('tandem_replication_slot_retained_bytes{system="crm"}');
    expect(text).toContain('tandem_events_total{stage="captured",system="erp"} 10');
    expect(text).toContain('tandem_conflicts_total{entity="customer",decision="rejected"} 1');
    expect(text).toContain('tandem_apply_tasks_total{target="crm",outcome="applied"} 3');
    expect(text).toContain('tandem_kafka_consumer_lag_messages{system="crm"} 42');
    expect(text).not.toContain('tandem_kafka_consumer_lag_messages{system="erp"}');
    expect(text).toContain('tandem_outbox_depth 7');
    expect(text).toContain('tandem_dead_letters_open 2');

    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
    ready = true;
    healthy = false;
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(503);
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
  });
});
