import type { ConsoleContext } from './context';
import { html } from './html';
import { badge, duration, page, table } from './layout';
import { readMetric, type Series } from './read';

/** Rows done a while ago, per table, for the rate: kept between page loads in this process. */
export class SnapshotRates {
  private readonly seen = new Map<string, Array<{ at: number; done: number }>>();

  /** Rows per second over the last minute of observations (null until two observations). */
  observe(table: string, done: number, now = Date.now()): number | null {
    const points = this.seen.get(table) ?? [];
    points.push({ at: now, done });
    while (points.length > 2 && points[1]!.at <= now - 60_000) points.shift();
    this.seen.set(table, points);
    const first = points[0]!;
    return now > first.at ? Math.max(0, done - first.done) / ((now - first.at) / 1000) : null;
  }
}

const STATES = ['waiting', 'in progress', 'done'];

/**
 * Initial snapshots per table: rows done of the estimate (from the source's
 * statistics), rate, ETA and state, read from the `tandem_snapshot_*` gauges
 * of this process's registry (what /metrics exports).
 */
export async function snapshotsPage(ctx: ConsoleContext, rates: SnapshotRates): Promise<string> {
  const [done, estimated, state] = await Promise.all([
    readMetric(ctx.view.registry, 'tandem_snapshot_rows_done'),
    readMetric(ctx.view.registry, 'tandem_snapshot_rows_estimated'),
    readMetric(ctx.view.registry, 'tandem_snapshot_state'),
  ]);
  const problems = [done, estimated, state].flatMap((o) => (o.ok ? [] : [o.problem]));
  const keyOf = (s: Series) => `${s.labels.source ?? ''}\u0000${s.labels.table ?? ''}`;
  const find = (series: Series[], key: string) => series.find((s) => keyOf(s) === key)?.value;
  const states = state.ok ? state.value : [];
  const rows = states.map((s) => {
    const key = keyOf(s);
    const rowsDone = find(done.ok ? done.value : [], key) ?? 0;
    const total = find(estimated.ok ? estimated.value : [], key);
    const rate = s.value === 1 ? rates.observe(key, rowsDone) : null;
    const left = total !== undefined ? Math.max(0, total - rowsDone) : null;
    const eta = s.value === 2 ? 'done' : rate && left !== null && rate > 0 ? duration(left / rate) : '-';
    const share = total ? ` (${Math.min(100, (rowsDone / total) * 100).toFixed(1)}%)` : '';
    const name = STATES[s.value] ?? String(s.value);
    return [
      s.labels.source ?? '', s.labels.table ?? '', badge(s.value === 2 ? 'ok' : s.value === 1 ? 'warn' : 'waiting', name),
      `${rowsDone}${share}`, total === undefined ? '-' : `~${total}`, rate === null ? '-' : `${rate.toFixed(0)} rows/s`, eta,
    ];
  });
  const body = html`${problems.length > 0 ? html`<p class="flash bad">${problems.join('; ')}</p>` : ''}
${rows.length === 0 ? html`<p class="empty" id="no-snapshot">No snapshot running: no table is being loaded and none has been in this process.</p>`
    : table(['source', 'table', 'state', 'rows done', 'rows estimated', 'rate', 'ETA'], rows)}
<p class="note">Totals are estimates from the source's table statistics; the rate is measured over the last minute of page loads.</p>`;
  return page({ title: 'Snapshots', path: '/snapshots', body, refreshSeconds: 5, mode: ctx.mode });
}
