import { assess } from './assess';
import type { ConsoleContext } from './context';
import { perSecond, type Sample } from './history';
import { html, jsonBlock, type Html } from './html';
import { badge, bytes, duration, page, positionText, table } from './layout';
import { readMetric, within, type Outcome, type Series } from './read';

interface PendingRow {
  target: string;
  status: string;
  n: number;
  oldest: Date | null;
}

/** The overview: the banner (is it flowing, stalled, failed, and why), sources with the lag chart, throughput, pending work, exceptions, compare. */
export async function overviewPage(ctx: ConsoleContext): Promise<string> {
  const { view, history } = ctx;
  const now = Date.now();
  const [store, lag, retained, consumerLag, pending, letters, exceptions, snapshots] = await Promise.all([
    within('state store', () => view.store.raw('select 1')),
    readMetric(view.registry, 'tandem_capture_lag_seconds'),
    readMetric(view.registry, 'tandem_replication_slot_retained_bytes'),
    readMetric(view.registry, 'tandem_kafka_consumer_lag_messages'),
    within('state store (outbox)', () => pendingByTarget(ctx)),
    readMetric(view.registry, 'tandem_dead_letters_open'),
    readMetric(view.registry, 'tandem_exceptions_oldest_age_seconds'),
    readMetric(view.registry, 'tandem_snapshot_state'),
  ]);
  const lagBySystem = Object.fromEntries(valuesOf(lag).map((s) => [s.labels.system ?? '', s.value]));
  const stats = view.stats();
  const verdict = assess({
    now, components: view.components(), lagSeconds: lagBySystem, storeProblem: store.ok ? null : store.problem,
    pending: stats.outboxDepth, pendingWhere: pending.ok ? pendingWhere(pending.value, now) : null,
    history: history.all(), stallAfterSeconds: view.loaded.config.console.stallAfter / 1000,
  });
  const snapshotting = valuesOf(snapshots).filter((s) => s.value === 1).length;
  const body = html`
<div class="banner ${verdict.state}" id="verdict" data-state="${verdict.state}"><strong>${verdict.headline}</strong>
${verdict.reasons.length > 0 ? html`<ul>${verdict.reasons.map((r) => html`<li>${r}</li>`)}</ul>` : ''}</div>
${snapshotting > 0 ? html`<p class="flash">Initial snapshot in progress: ${snapshotting} table${snapshotting === 1 ? '' : 's'} loading — <a href="/snapshots">progress, rate and ETA</a></p>` : ''}
<h2>Sources</h2>
${sourcesTable(ctx, lag, lagBySystem, retained, consumerLag)}
<h3>Lag, last hour (seconds; sampled every 2 s in this process)</h3>
<div class="chart" data-series="lag-series"></div>${jsonBlock('lag-series', lagChart(history.all(), view.sources))}
<h2>Throughput per stage</h2>
${throughput(history.all(), stats, now)}
<h2>Pending work per target</h2>
${pendingTable(ctx, pending, now)}
<h2>Open exceptions and dead letters by age <a href="/exceptions">(details)</a></h2>
${exceptionsByAge(letters, exceptions)}
<h2>Latest compare</h2>
${await compareSection(ctx)}`;
  return page({ title: 'Overview', path: '/', body, refreshSeconds: 5, charts: true, mode: ctx.mode });
}

function valuesOf(outcome: Outcome<Series[]>): Series[] {
  return outcome.ok ? outcome.value : [];
}

function problemOf(...outcomes: Array<Outcome<unknown>>): Html {
  const problems = outcomes.filter((o): o is { ok: false; problem: string } => !o.ok).map((o) => o.problem);
  return problems.length > 0 ? html`<p class="flash bad">${problems.join('; ')}</p>` : html``;
}

function sourcesTable(ctx: ConsoleContext, lag: Outcome<Series[]>, lagBySystem: Record<string, number>, retained: Outcome<Series[]>, consumerLag: Outcome<Series[]>): Html {
  const { view } = ctx;
  const bySystem = (o: Outcome<Series[]>) => new Map(valuesOf(o).map((s) => [s.labels.system ?? '', s.value]));
  const wal = bySystem(retained);
  const kafka = bySystem(consumerLag);
  const positions = view.positions();
  const health = new Map(view.components().map((c) => [c.component, c]));
  const rows = view.sources.map((system) => {
    const c = health.get(`source:${system}`);
    const state = c ? html`${badge(c.state)}${c.reason ? html` <span class="note">${c.reason} (since ${new Date(c.sinceMs).toISOString()})</span>` : ''}` : badge('starting', 'starting');
    const seconds = lagBySystem[system];
    const lagCell = seconds === undefined ? '-' : html`<span class="lag" data-system="${system}" data-lag="${seconds}">${seconds.toFixed(1)} s</span>`;
    const spec = view.loaded.config.systems[system];
    const backlog = spec?.debezium
      ? (kafka.has(system) ? `${kafka.get(system)} messages (Kafka consumer lag)` : 'unknown (Kafka)')
      : wal.has(system) ? `${bytes(wal.get(system)!)} WAL retained` : '-';
    return [system, state, html`<span class="value" title="${positions[system] ?? ''}">${positionText(positions[system])}</span>`, lagCell, backlog];
  });
  return html`${problemOf(lag, retained, consumerLag)}${table(['source', 'state', 'durable position', 'lag', 'retained WAL / Kafka lag'], rows, 'no captured source')}`;
}

function lagChart(samples: readonly Sample[], sources: readonly string[]): { unit: string; names: string[]; x: number[]; ys: number[][] } {
  return {
    unit: 'seconds',
    names: [...sources],
    x: samples.map((s) => Math.round(s.at / 1000)),
    ys: sources.map((system) => samples.map((s) => Number((s.lagSeconds[system] ?? 0).toFixed(2)))),
  };
}

function throughput(samples: readonly Sample[], stats: ReturnType<ConsoleContext['view']['stats']>, now: number): Html {
  const ref = [...samples].reverse().find((s) => s.at <= now - 55_000) ?? samples[0];
  const seconds = ref ? (now - ref.at) / 1000 : 0;
  const rate = (current: number, pick: (s: Sample) => number) => (ref ? perSecond(current, pick(ref), seconds).toFixed(1) : '-');
  const stages: Array<[string, number, (s: Sample) => number]> = [
    ['captured (events)', stats.events.captured, (s) => s.events.captured],
    ['resolved (events)', stats.events.resolved, (s) => s.events.resolved],
    ['parked (events, dead letters)', stats.events.deadLettered, (s) => s.events.deadLettered],
    ['applied (tasks)', stats.tasks.applied, (s) => s.tasks.applied],
    ['superseded (tasks)', stats.tasks.superseded, (s) => s.tasks.superseded],
    ['retried after a failure (tasks)', stats.tasks.failed, (s) => s.tasks.failed],
    ['parked (tasks: dead letters, exceptions)', stats.tasks.deadLettered, (s) => s.tasks.deadLettered],
  ];
  return table(
    ['stage', `per second, last ${Math.round(seconds)} s`, 'since start'],
    stages.map(([name, total, pick]) => [name, html`<span class="value">${rate(total, pick)}</span>`, html`<span class="value">${total}</span>`]),
  );
}

async function pendingByTarget({ view }: ConsoleContext): Promise<PendingRow[]> {
  const open = view.store.withSchema(view.schema).table('open_tasks')
    .groupBy('target', 'status').select('target', 'status').count({ n: '*' }).min({ oldest: 'created_at' });
  const dead = view.store.withSchema(view.schema).table('outbox').where('status', 'dead')
    .groupBy('target', 'status').select('target', 'status').count({ n: '*' }).min({ oldest: 'created_at' });
  const rows = [...await open, ...await dead];
  return (rows as Array<{ target: string; status: string; n: string | number; oldest: Date | string | null }>).map((r) => ({
    target: r.target, status: r.status, n: Number(r.n), oldest: r.oldest === null ? null : new Date(r.oldest),
  }));
}

function pendingTable(ctx: ConsoleContext, pending: Outcome<PendingRow[]>, now: number): Html {
  if (!pending.ok) return problemOf(pending);
  const targets = [...new Set([...ctx.view.targets, ...pending.value.map((r) => r.target)])];
  const cell = (target: string, status: string) => pending.value.find((r) => r.target === target && r.status === status);
  return table(['target', 'pending', 'in flight', 'held (exception) / dead', 'oldest waiting'], targets.map((target) => {
    const rows = pending.value.filter((r) => r.target === target && r.status !== 'held' && r.status !== 'dead');
    const oldest = rows.reduce<Date | null>((a, r) => (r.oldest && (!a || r.oldest < a) ? r.oldest : a), null);
    const parked = (cell(target, 'held')?.n ?? 0) + (cell(target, 'dead')?.n ?? 0);
    return [target, String(cell(target, 'pending')?.n ?? 0), String(cell(target, 'inflight')?.n ?? 0), String(parked), oldest ? duration((now - oldest.getTime()) / 1000) : '-'];
  }), 'no target');
}

function exceptionsByAge(letters: Outcome<Series[]>, exceptions: Outcome<Series[]>): Html {
  const buckets = ['<1h', '1h-24h', '1d-7d', '>7d'];
  const open = valuesOf(letters);
  const letterRows = ['event', 'task'].map((kind) => [
    `dead letters (${kind})`, ...buckets.map((b) => String(open.filter((s) => s.labels.kind === kind && s.labels.age_bucket === b).reduce((a, s) => a + s.value, 0))),
  ]);
  const excRows = valuesOf(exceptions).map((s) => [`${s.labels.entity} → ${s.labels.system}`, duration(s.value)]);
  // A read that did not answer shows as that, never as zeros.
  return html`${problemOf(letters, exceptions)}
${letters.ok ? table(['open', ...buckets], letterRows) : ''}
${exceptions.ok ? table(['open exceptions (entity → refusing target)', 'oldest'], excRows, 'no open exception') : ''}`;
}

async function compareSection({ view }: ConsoleContext): Promise<Html> {
  const reconcile = view.loaded.config.reconcile;
  if (!reconcile) return html`<p class="empty">No scheduled compare is configured (add <code>reconcile: { every: 1h }</code>, or run <code>tandem compare</code>).</p>`;
  const [records, mismatched, ratio, last] = await Promise.all([
    readMetric(view.registry, 'tandem_compare_records'),
    readMetric(view.registry, 'tandem_compare_records_mismatched'),
    readMetric(view.registry, 'tandem_compare_mismatch_ratio'),
    readMetric(view.registry, 'tandem_compare_last_completed_timestamp_seconds'),
  ]);
  const finished = valuesOf(last)[0]?.value ?? 0;
  if (finished === 0) return html`<p class="empty">No scheduled compare has completed yet in this process (every ${duration(reconcile.every / 1000)}).</p>`;
  const of = (o: Outcome<Series[]>, entity: string, field?: string) => valuesOf(o).find((s) => s.labels.entity === entity && (field === undefined || s.labels.field === field))?.value;
  const rows = valuesOf(records).map((s) => {
    const entity = s.labels.entity!;
    const share = of(ratio, entity, '*') ?? 0;
    const fields = valuesOf(ratio).filter((r) => r.labels.entity === entity && r.labels.field !== '*' && r.value > 0).map((r) => `${r.labels.field} ${(r.value * 100).toFixed(2)}%`);
    return [entity, String(s.value), String(of(mismatched, entity) ?? 0), html`${badge(share === 0 ? 'ok' : 'bad', `${(share * 100).toFixed(2)}%`)}`, fields.join(', ') || '-'];
  });
  return html`${problemOf(records, mismatched, ratio, last)}<p class="note">completed ${new Date(finished * 1000).toISOString()}</p>
${table(['entity', 'records', 'mismatched', 'mismatch ratio', 'fields that differ'], rows)}`;
}

/** Where the waiting work is, for the banner: `erp: 2 in flight, 0 pending, oldest 5s`. */
function pendingWhere(rows: PendingRow[], now: number): string | null {
  const open = rows.filter((r) => r.status === 'pending' || r.status === 'inflight');
  const targets = [...new Set(open.map((r) => r.target))];
  if (targets.length === 0) return null;
  return targets.map((target) => {
    const of = (status: string) => open.find((r) => r.target === target && r.status === status);
    const oldest = open.filter((r) => r.target === target && r.oldest).map((r) => r.oldest!.getTime()).sort((a, b) => a - b)[0];
    return `${target}: ${of('inflight')?.n ?? 0} in flight, ${of('pending')?.n ?? 0} pending${oldest ? `, oldest ${duration((now - oldest) / 1000)}` : ''}`;
  }).join('; ');
}
