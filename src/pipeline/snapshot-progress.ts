import type { ChangeBatch, SnapshotPlanEntry } from '../capture';
import type { Logger } from '../log';
import { sleep } from '../retry';

/** Where a table's initial snapshot stands: `waiting` (planned, no row durable yet), `in progress`, `done`. */
export type SnapshotState = 'waiting' | 'in progress' | 'done';

/** The value of `tandem_snapshot_state` for each state. */
export const SNAPSHOT_STATE_VALUE: Readonly<Record<SnapshotState, number>> = { waiting: 0, 'in progress': 1, done: 2 };

/** One table's snapshot as `tandem status`, the log and the metrics show it. */
export interface SnapshotTableProgress {
  source: string;
  table: string;
  state: SnapshotState;
  /** Rows whose effects are durable in the state store. */
  rowsDone: number;
  /**
   * Rows the table holds as the statistics estimated them when the snapshot
   * started (at least the rows done; the exact count once done); null when
   * the statistics did not know.
   */
  rowsEstimated: number | null;
  /** Rows per second since the table's first durable row (0 before it). */
  rowsPerSecond: number;
  /** Seconds left at that rate; null when it cannot be told (no rate or no estimate), 0 once done. */
  etaSeconds: number | null;
  startedAt: string | null;
  finishedAt: string | null;
}

interface TableEntry {
  source: string;
  table: string;
  estimated: number | null;
  rowsDone: number;
  startedMs: number | null;
  finishedMs: number | null;
}

/**
 * Progress of the initial snapshots of every source: a source tells the
 * tables it is about to read (planned), and the pipeline counts the rows of
 * each snapshot batch once the batch is durable, so "done" means in the state
 * store with its outbox tasks, not merely read.
 */
export class SnapshotProgress {
  private readonly tables = new Map<string, TableEntry>();
  /**
   * Per source, when its snapshot last moved (planned, or a batch durable):
   * the next table's reading began then, so its rate counts from there, not
   * from its first durable chunk.
   */
  private readonly lastMoveMs = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  planned(source: string, entries: readonly SnapshotPlanEntry[]): void {
    this.lastMoveMs.set(source, this.now());
    for (const { table, estimatedRows } of entries) {
      // A source restarted mid-snapshot reads the table again from its start: its count starts again too.
      this.tables.set(keyOf(source, table), { source, table, estimated: estimatedRows, rowsDone: 0, startedMs: null, finishedMs: null });
    }
  }

  /** A batch's effects are durable: its snapshot rows count, and a table it completes is done. */
  durable(batch: ChangeBatch): void {
    const now = this.now();
    const began = this.lastMoveMs.get(batch.system) ?? now;
    if (batch.snapshotTable !== undefined) {
      const entry = this.entry(batch.system, batch.snapshotTable);
      entry.startedMs ??= began;
      entry.rowsDone += batch.events.length;
      this.lastMoveMs.set(batch.system, now);
    }
    for (const table of batch.completedSnapshots ?? []) {
      const entry = this.entry(batch.system, table);
      entry.startedMs ??= began;
      entry.finishedMs = now;
      this.lastMoveMs.set(batch.system, now);
    }
  }

  /** True while some table is waiting or in progress (the periodic log line runs only then). */
  active(): boolean {
    return [...this.tables.values()].some((t) => t.finishedMs === null);
  }

  report(): SnapshotTableProgress[] {
    const now = this.now();
    return [...this.tables.values()]
      .sort((a, b) => a.source.localeCompare(b.source) || a.table.localeCompare(b.table))
      .map((t) => progressOf(t, now));
  }

  /** A table no plan announced (a source without estimates): known from its first batch on. */
  private entry(source: string, table: string): TableEntry {
    const key = keyOf(source, table);
    let entry = this.tables.get(key);
    if (!entry) {
      entry = { source, table, estimated: null, rowsDone: 0, startedMs: null, finishedMs: null };
      this.tables.set(key, entry);
    }
    return entry;
  }
}

function keyOf(source: string, table: string): string {
  return `${source}\u0000${table}`;
}

function progressOf(t: TableEntry, now: number): SnapshotTableProgress {
  const state: SnapshotState = t.finishedMs !== null ? 'done' : t.startedMs !== null ? 'in progress' : 'waiting';
  const end = t.finishedMs ?? now;
  const elapsedSeconds = t.startedMs === null ? 0 : (end - t.startedMs) / 1000;
  const rowsPerSecond = elapsedSeconds > 0 ? t.rowsDone / elapsedSeconds : 0;
  // Statistics lag behind the table: never show fewer rows to go than zero, and the real count once known.
  const rowsEstimated = state === 'done' ? t.rowsDone : t.estimated === null ? null : Math.max(t.estimated, t.rowsDone);
  let etaSeconds: number | null = null;
  if (state === 'done') etaSeconds = 0;
  else if (rowsEstimated !== null && rowsPerSecond > 0) etaSeconds = (rowsEstimated - t.rowsDone) / rowsPerSecond;
  return {
    source: t.source, table: t.table, state, rowsDone: t.rowsDone, rowsEstimated, rowsPerSecond, etaSeconds,
    startedAt: t.startedMs === null ? null : new Date(t.startedMs).toISOString(),
    finishedAt: t.finishedMs === null ? null : new Date(t.finishedMs).toISOString(),
  };
}

/** What a progress line says of a table: rounded, with the percentage when the total is estimated. */
export function progressLine(t: SnapshotTableProgress): Record<string, unknown> {
  const percent = t.rowsEstimated ? Math.min(100, Math.round((1000 * t.rowsDone) / t.rowsEstimated) / 10) : null;
  return {
    source: t.source, table: t.table, state: t.state, rowsDone: t.rowsDone, rowsEstimated: t.rowsEstimated, percent,
    rowsPerSecond: Math.round(t.rowsPerSecond), etaSeconds: t.etaSeconds === null ? null : Math.round(t.etaSeconds),
  };
}

/**
 * While a snapshot runs: a line per table in progress every `everyMs`, and
 * one when a table is done, so a long initial load is visible in the log.
 */
export async function logSnapshotProgress(progress: SnapshotProgress, logger: Logger, everyMs: number, signal: AbortSignal): Promise<void> {
  const announced = new Set<string>();
  while (!signal.aborted) {
    await sleep(everyMs, signal);
    for (const table of progress.report()) {
      const key = `${table.source}\u0000${table.table}`;
      if (table.state === 'in progress') logger.info('snapshot progress', progressLine(table));
      if (table.state === 'done' && !announced.has(key)) {
        announced.add(key);
        logger.info('snapshot of table done', progressLine(table));
      }
    }
  }
}
