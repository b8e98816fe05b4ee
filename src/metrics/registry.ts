import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { boundedProbe } from './bounded-probe';
import { buildInfo } from './build-info';
import { labelValue } from './labels';

/** One table of an initial snapshot, as the snapshot gauges export it. */
export interface SnapshotGaugeRow {
  source: string;
  table: string;
  /** 0 waiting, 1 in progress, 2 done. */
  state: number;
  rowsDone: number;
  rowsEstimated: number | null;
  rowsPerSecond: number;
  etaSeconds: number | null;
}

/** The last verification of the conflict log's hash chain inside the service. */
export interface ChainVerificationState {
  ok: boolean;
  rows: number;
  /** When it finished, ms since epoch. */
  atMs: number;
}

/** Async probes the gauges read at scrape time. */
export interface MetricProbes {
  lagSeconds(): Record<string, number>;
  retainedBytes(): Promise<Record<string, number | null>>;
  /** Messages behind the newest offsets, per system captured through Kafka (consumer-group lag). */
  consumerLag?(): Promise<Record<string, number | null>>;
  outboxDepth(): Promise<number>;
  deadLettersOpen(): Promise<number>;
  /**
   * Open dead letters by age (one grouped query). When given, the open count
   * is exported per age bucket and kind, with the oldest letter's age.
   */
  deadLetterAging?(): Promise<{ oldestAgeSeconds: number; open: Array<{ ageBucket: string; kind: string; count: number }> }>;
  /** The state of each component (sources, apply stages, Redis): `ok`, `degraded` or `failed`. */
  components?(): Array<{ component: string; state: string }>;
  /** Open exceptions per entity and target system, with the oldest one's age. */
  exceptionAging?(): Promise<Array<{ entity: string; system: string; open: number; oldestAgeSeconds: number }>>;
  /** Per entity: seconds since the source commit of the oldest change not yet applied everywhere. */
  updateLag?(): Promise<Array<{ entity: string; seconds: number }>>;
  /** Initial snapshots of this run, per source and table. */
  snapshots?(): SnapshotGaugeRow[];
  /** The last chain verification, null before the first. */
  chainVerification?(): ChainVerificationState | null;
}

/** Batch resolve buckets (seconds): a small batch in milliseconds up to a large one stuck behind locks. */
const RESOLVE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const COMPONENT_STATES = ['ok', 'degraded', 'failed'];

/** Sync completion buckets (seconds): sub-second apply up to a day-long exception. */
const COMPLETION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400];

const AGE_BUCKETS = ['<1h', '1h-24h', '1d-7d', '>7d'];
const LETTER_KINDS = ['event', 'task'];

export interface TandemMetrics {
  registry: Registry;
  events: Counter<'stage' | 'system'>;
  conflicts: Counter<'entity' | 'decision' | 'rule'>;
  tasks: Counter<'target' | 'outcome'>;
  outages: Counter<'dependency'>;
  syncCompletion: Histogram<'entity' | 'target'>;
  /** Capture batch → durable in the state store (map, resolve, one transaction), per source. */
  resolveDuration: Histogram<'system'>;
}

export function createMetrics(probes: MetricProbes): TandemMetrics {
  const registry = new Registry();
  // process_* and nodejs_* (CPU, memory, event-loop lag, GC), as every Node service exports them.
  collectDefaultMetrics({ register: registry });
  const build = buildInfo();
  new Gauge({
    name: 'tandem_build_info', help: 'Always 1; the labels say which tandem runs (version) on which Node.js', labelNames: ['version', 'node_version'], registers: [registry],
  }).set({ version: build.version, node_version: build.nodeVersion }, 1);
  const misses = new Counter({
    name: 'tandem_metrics_probe_timeouts_total',
    help: 'Scrapes in which a probe reading a database (state store, source) failed or gave no answer within 2 s; its gauges kept their last value',
    labelNames: ['probe'], registers: [registry],
  });
  const bounded = <T>(name: string, probe: () => Promise<T>) => boundedProbe(name, probe, (probeName) => misses.inc({ probe: probeName }));
  const retainedBytes = bounded('retained_bytes', probes.retainedBytes);
  const outboxDepth = bounded('outbox_depth', probes.outboxDepth);
  const deadLettersOpen = bounded('dead_letters_open', probes.deadLettersOpen);
  const events = new Counter({ name: 'tandem_events_total', help: 'Change events per pipeline stage', labelNames: ['stage', 'system'], registers: [registry] });
  const conflicts = new Counter({
    name: 'tandem_conflicts_total', help: 'Conflicts logged, by entity, decision and the rule that decided (e.g. customer.credit_limit owner=erp)',
    labelNames: ['entity', 'decision', 'rule'], registers: [registry],
  });
  const tasks = new Counter({ name: 'tandem_apply_tasks_total', help: 'Apply tasks finished, by target and outcome', labelNames: ['target', 'outcome'], registers: [registry] });
  new Gauge({
    name: 'tandem_capture_lag_seconds',
    help: 'Seconds between now and the newest source commit or heartbeat whose effects are durable',
    labelNames: ['system'],
    registers: [registry],
    collect() {
      for (const [system, lag] of Object.entries(probes.lagSeconds())) this.set({ system: labelValue(system) }, lag);
    },
  });
  new Gauge({
    name: 'tandem_replication_slot_retained_bytes',
    help: 'WAL bytes the source database retains for tandem’s replication slot',
    labelNames: ['system'],
    registers: [registry],
    async collect() {
      for (const [system, bytes] of Object.entries((await retainedBytes()) ?? {})) if (bytes !== null) this.set({ system: labelValue(system) }, bytes);
    },
  });
  if (probes.consumerLag) {
    const consumerLag = bounded('consumer_lag', probes.consumerLag);
    new Gauge({
      name: 'tandem_kafka_consumer_lag_messages',
      help: 'Messages on the partitions this instance owns that it has not yet consumed (Debezium over Kafka)',
      labelNames: ['system'],
      registers: [registry],
      async collect() {
        for (const [system, lag] of Object.entries((await consumerLag()) ?? {})) if (lag !== null) this.set({ system: labelValue(system) }, lag);
      },
    });
  }
  new Gauge({
    name: 'tandem_outbox_depth',
    help: 'Apply tasks waiting or in flight',
    registers: [registry],
    async collect() {
      const depth = await outboxDepth();
      if (depth !== undefined) this.set(depth);
    },
  });
  // Exception aging: both gauges read one scrape-time query, shared through `aging`.
  let aging: Promise<Awaited<ReturnType<NonNullable<MetricProbes['deadLetterAging']>>> | undefined> | null = null;
  const agingProbe = probes.deadLetterAging ? bounded('dead_letter_aging', probes.deadLetterAging) : null;
  const readAging = () => (aging ??= agingProbe!().finally(() => setTimeout(() => (aging = null), 0)));
  new Gauge({
    name: 'tandem_dead_letters_open',
    help: 'Dead letters not yet retried or discarded, by age bucket and kind',
    labelNames: ['age_bucket', 'kind'],
    registers: [registry],
    async collect() {
      if (!probes.deadLetterAging) {
        const open = await deadLettersOpen();
        if (open !== undefined) this.set(open);
        return;
      }
      const read = await readAging();
      if (read === undefined) return;
      const { open } = read;
      // Every bucket is exported, zeros included, so a series never vanishes when its letters are dealt with.
      for (const age_bucket of AGE_BUCKETS) for (const kind of LETTER_KINDS) this.set({ age_bucket, kind }, 0);
      for (const row of open) this.set({ age_bucket: labelValue(row.ageBucket), kind: labelValue(row.kind) }, row.count);
    },
  });
  if (probes.deadLetterAging) {
    new Gauge({
      name: 'tandem_dead_letters_oldest_age_seconds',
      help: 'Age of the oldest open dead letter (0 when none is open)',
      registers: [registry],
      async collect() {
        const read = await readAging();
        if (read !== undefined) this.set(read.oldestAgeSeconds);
      },
    });
  }
  if (probes.components) {
    const components = probes.components;
    new Gauge({
      name: 'tandem_component_status',
      help: 'State of each source, apply stage and dependency: 1 for the state it is in (ok, degraded or failed), 0 for the others',
      labelNames: ['component', 'state'],
      registers: [registry],
      collect() {
        for (const { component, state: now } of components()) for (const state of COMPONENT_STATES) this.set({ component, state }, state === now ? 1 : 0);
      },
    });
  }
  const outages = new Counter({ name: 'tandem_dependency_outages_total', help: 'Outages of a dependency survived in degraded mode (redis: dedup moved to the state store)', labelNames: ['dependency'], registers: [registry] });
  const syncCompletion = new Histogram({
    name: 'tandem_sync_completion_seconds',
    help: 'Source commit → applied in the target, per entity and target (a change is complete when its slowest target is)',
    labelNames: ['entity', 'target'],
    buckets: COMPLETION_BUCKETS,
    registers: [registry],
  });
  if (probes.updateLag) {
    const updateLag = bounded('update_lag', probes.updateLag);
    new Gauge({
      name: 'tandem_update_lag_seconds',
      help: 'Per entity: seconds since the source commit of the oldest change not yet applied in every target (0 when none waits)',
      labelNames: ['entity'],
      registers: [registry],
      async collect() {
        const rows = await updateLag();
        if (rows === undefined) return;
        this.reset();
        for (const { entity, seconds } of rows) this.set({ entity: labelValue(entity) }, seconds);
      },
    });
  }
  if (probes.exceptionAging) {
    // Both gauges read one scrape-time query.
    const exceptionAging = bounded('exception_aging', probes.exceptionAging);
    let memo: ReturnType<typeof exceptionAging> | null = null;
    const read = () => (memo ??= exceptionAging().finally(() => setTimeout(() => (memo = null), 0)));
    new Gauge({
      name: 'tandem_exceptions_open',
      help: 'Unresolved exceptions (records a target refused for good), per entity and target system',
      labelNames: ['entity', 'system'],
      registers: [registry],
      async collect() {
        const rows = await read();
        if (rows === undefined) return;
        this.reset();
        for (const row of rows) this.set({ entity: labelValue(row.entity), system: labelValue(row.system) }, row.open);
      },
    });
    new Gauge({
      name: 'tandem_exceptions_oldest_age_seconds',
      help: 'Age of the oldest unresolved exception, per entity and target system',
      labelNames: ['entity', 'system'],
      registers: [registry],
      async collect() {
        const rows = await read();
        if (rows === undefined) return;
        this.reset();
        for (const row of rows) this.set({ entity: labelValue(row.entity), system: labelValue(row.system) }, row.oldestAgeSeconds);
      },
    });
  }
  const resolveDuration = new Histogram({
    name: 'tandem_batch_resolve_seconds',
    help: 'A capture batch from hand-over to durable in the state store (map, resolve, conflicts, outbox, checkpoint in one transaction), per source',
    labelNames: ['system'],
    buckets: RESOLVE_BUCKETS,
    registers: [registry],
  });
  if (probes.snapshots) registerSnapshotGauges(registry, probes.snapshots);
  if (probes.chainVerification) registerChainGauges(registry, probes.chainVerification);
  return { registry, events, conflicts, tasks, outages, syncCompletion, resolveDuration };
}

/** Per source and table: rows done, rows estimated, state, rate and ETA of this run's initial snapshots. */
function registerSnapshotGauges(registry: Registry, snapshots: () => SnapshotGaugeRow[]): void {
  const labelNames = ['source', 'table'] as const;
  const gauge = (name: string, help: string, value: (row: SnapshotGaugeRow) => number | null) => new Gauge({
    name, help, labelNames, registers: [registry],
    collect() {
      for (const row of snapshots()) {
        const v = value(row);
        if (v !== null) this.set({ source: labelValue(row.source), table: labelValue(row.table) }, v);
      }
    },
  });
  gauge('tandem_snapshot_rows_done', 'Initial snapshot: rows of the table durable in the state store', (r) => r.rowsDone);
  gauge('tandem_snapshot_rows_estimated', 'Initial snapshot: rows the table holds as its statistics estimated them (the exact count once done)', (r) => r.rowsEstimated);
  gauge('tandem_snapshot_state', 'Initial snapshot of the table: 0 waiting, 1 in progress, 2 done', (r) => r.state);
  gauge('tandem_snapshot_rows_per_second', 'Initial snapshot: rows per second since the table\'s reading began', (r) => r.rowsPerSecond);
  gauge('tandem_snapshot_eta_seconds', 'Initial snapshot: seconds left at the current rate (absent when unknown, 0 when done)', (r) => r.etaSeconds);
}

/** The service's periodic check of the conflict log's hash chain (what `tandem conflicts verify` does, without outside anchors). */
function registerChainGauges(registry: Registry, state: () => ChainVerificationState | null): void {
  new Gauge({
    name: 'tandem_conflict_chain_verified',
    help: 'Last verification of the conflict log hash chain: 1 intact, 0 a row, link or the head does not verify (absent before the first run)',
    registers: [registry],
    collect() {
      const last = state();
      if (last) this.set(last.ok ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tandem_conflict_chain_verified_rows',
    help: 'Rows of the conflict log checked by the last chain verification',
    registers: [registry],
    collect() {
      const last = state();
      if (last) this.set(last.rows);
    },
  });
  new Gauge({
    name: 'tandem_conflict_chain_last_verified_timestamp_seconds',
    help: 'Unix time the last chain verification finished',
    registers: [registry],
    collect() {
      const last = state();
      if (last) this.set(last.atMs / 1000);
    },
  });
}
