import { Counter, Gauge, Registry } from 'prom-client';

/** Async probes the gauges read at scrape time. */
export interface MetricProbes {
  lagSeconds(): Record<string, number>;
  retainedBytes(): Promise<Record<string, number | null>>;
  outboxDepth(): Promise<number>;
  deadLettersOpen(): Promise<number>;
}

export interface TandemMetrics {
  registry: Registry;
  events: Counter<'stage' | 'system'>;
  conflicts: Counter<'entity' | 'decision'>;
  tasks: Counter<'target' | 'outcome'>;
}

export function createMetrics(probes: MetricProbes): TandemMetrics {
  const registry = new Registry();
  const events = new Counter({ name: 'tandem_events_total', help: 'Change events per pipeline stage', labelNames: ['stage', 'system'], registers: [registry] });
  const conflicts = new Counter({ name: 'tandem_conflicts_total', help: 'Conflicts logged, by entity and decision', labelNames: ['entity', 'decision'], registers: [registry] });
  const tasks = new Counter({ name: 'tandem_apply_tasks_total', help: 'Apply tasks finished, by target and outcome', labelNames: ['target', 'outcome'], registers: [registry] });
  new Gauge({
    name: 'tandem_capture_lag_seconds',
    help: 'Seconds between now and the newest source commit or heartbeat whose effects are durable',
    labelNames: ['system'],
    registers: [registry],
    collect() {
      for (const [system, lag] of Object.entries(probes.lagSeconds())) this.set({ system }, lag);
    },
  });
  new Gauge({
    name: 'tandem_replication_slot_retained_bytes',
    help: 'WAL bytes the source database retains for tandem’s replication slot',
    labelNames: ['system'],
    registers: [registry],
    async collect() {
      for (const [system, bytes] of Object.entries(await probes.retainedBytes())) if (bytes !== null) this.set({ system }, bytes);
    },
  });
  new Gauge({
    name: 'tandem_outbox_depth',
    help: 'Apply tasks waiting or in flight',
    registers: [registry],
    async collect() {
      this.set(await probes.outboxDepth());
    },
  });
  new Gauge({
    name: 'tandem_dead_letters_open',
    help: 'Dead letters not yet retried or discarded',
    registers: [registry],
    async collect() {
      this.set(await probes.deadLettersOpen());
    },
  });
  return { registry, events, conflicts, tasks };
}
