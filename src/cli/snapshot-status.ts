/**
 * Initial-snapshot progress as `tandem status` shows it, read from the
 * running service's /metrics (the `tandem_snapshot_*` gauges): one structured
 * row per source and table, and its table rendering.
 */
export interface SnapshotStatusRow {
  source: string;
  table: string;
  state: 'waiting' | 'in progress' | 'done';
  rowsDone: number;
  rowsEstimated: number | null;
  rowsPerSecond: number | null;
  etaSeconds: number | null;
}

const STATES: Record<string, SnapshotStatusRow['state']> = { '0': 'waiting', '1': 'in progress', '2': 'done' };
const SERIES = /^(tandem_snapshot_(?:rows_done|rows_estimated|state|rows_per_second|eta_seconds))\{(.*)\} (\S+)$/;

/** The snapshot rows of a Prometheus text exposition (empty when no snapshot ran in this service). */
export function snapshotStatusOf(metricsText: string): SnapshotStatusRow[] {
  const rows = new Map<string, SnapshotStatusRow>();
  for (const line of metricsText.split('\n')) {
    const match = SERIES.exec(line);
    if (!match) continue;
    const labels = parseLabels(match[2]!);
    const source = labels.get('source');
    const table = labels.get('table');
    if (source === undefined || table === undefined) continue;
    const key = `${source}\u0000${table}`;
    const row = rows.get(key) ?? { source, table, state: 'waiting', rowsDone: 0, rowsEstimated: null, rowsPerSecond: null, etaSeconds: null };
    rows.set(key, row);
    const value = Number(match[3]);
    switch (match[1]) {
      case 'tandem_snapshot_rows_done': row.rowsDone = value; break;
      case 'tandem_snapshot_rows_estimated': row.rowsEstimated = value; break;
      case 'tandem_snapshot_state': row.state = STATES[match[3]!] ?? row.state; break;
      case 'tandem_snapshot_rows_per_second': row.rowsPerSecond = value; break;
      case 'tandem_snapshot_eta_seconds': row.etaSeconds = value; break;
    }
  }
  return [...rows.values()];
}

/** Cells of the status table: source, table, state, rows done / estimated (percent), rate, ETA. */
export function snapshotStatusCells(row: SnapshotStatusRow): string[] {
  const total = row.rowsEstimated === null ? '?' : String(row.rowsEstimated);
  const percent = row.rowsEstimated ? ` (${Math.min(100, (100 * row.rowsDone) / row.rowsEstimated).toFixed(1)}%)` : '';
  const rate = row.rowsPerSecond === null ? '-' : `${Math.round(row.rowsPerSecond)}/s`;
  const eta = row.state === 'done' ? '-' : row.etaSeconds === null ? '?' : formatDuration(row.etaSeconds);
  return [row.source, row.table, row.state, `${row.rowsDone} / ${total}${percent}`, rate, eta];
}

export const SNAPSHOT_STATUS_HEADERS = ['source', 'table', 'snapshot', 'rows done / estimated', 'rate', 'ETA'];

function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `a="x",b="y\"z"` → Map; values unescaped as the exposition format escapes them. */
function parseLabels(text: string): Map<string, string> {
  const labels = new Map<string, string>();
  const pair = /(\w+)="((?:[^"\\]|\\.)*)"/g;
  for (let m = pair.exec(text); m !== null; m = pair.exec(text)) {
    labels.set(m[1]!, m[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c)));
  }
  return labels;
}
