/**
 * The native SQL Server source: polls each mapped table's CDC capture
 * instance with `cdc.fn_cdc_get_all_changes_<instance>` from the last
 * delivered LSN (exclusive) to `sys.fn_cdc_get_max_lsn()`, merges the
 * instances' rows into commit order and hands them on in batches that end
 * on transaction boundaries. The first start takes a snapshot consistent
 * with the LSN it streams from. Nothing is held on the server for tandem
 * (CDC retention is the cleanup job's), so acknowledging only moves where a
 * restarted `batches()` resumes.
 */
import type { ChangeEvent, Position } from '../change-event';
import type { ChangeBatch, ChangeSource, SourceStats } from '../source';
import { CaptureError, TandemError } from '../../errors';
import { batchesOf, changeRowsOf, eventsOf, mergeRows, type ChangeRow } from './change-rows';
import { openMssqlConnection } from './connection';
import { lsnBuffer, lsnHex, parsePosition, ZERO_LSN } from './lsn';
import { resolveInstances, splitQualified, type CaptureInstance } from './metadata';
import type { LogFn, SqlServerSourceOptions } from './options';
import { changesSql, DATABASE_SQL, MIN_LSNS_SQL, POLL_BOUNDS_SQL, MAX_LSN_SQL, type CdcConnection, type SnapshotIsolation } from './queries';
import { estimateRows, snapshotBatches } from './snapshot';

export function createSqlServerSource(options: SqlServerSourceOptions): ChangeSource {
  return new SqlServerSource(options);
}

interface Yielded {
  position: Position;
  completed: string[];
}

export class SqlServerSource implements ChangeSource {
  readonly system: string;
  private readonly tables: string[];
  private readonly log: LogFn;
  private readonly snapshotted: Set<string>;
  private acknowledged: Position | null = null;
  private yielded: Yielded[] = [];
  private running = false;
  private stopping = false;
  private wake: (() => void) | null = null;
  /** Late-snapshotted tables: their changes at or below this LSN are in the snapshot. */
  private readonly coveredUpTo = new Map<string, string>();

  constructor(private readonly options: SqlServerSourceOptions) {
    this.system = options.system;
    this.tables = [...new Set(options.tables.map((t) => splitQualified(t).join('.')))];
    this.log = options.log ?? (() => undefined);
    this.snapshotted = new Set(options.snapshotted);
  }

  /** The position acknowledged last (where a restarted `batches()` resumes). */
  get acknowledgedPosition(): Position | null {
    return this.acknowledged;
  }

  async *batches(): AsyncGenerator<ChangeBatch> {
    if (this.running) throw new CaptureError('batches() is already running', { system: this.system });
    this.running = true;
    this.stopping = false;
    this.yielded = [];
    let connection: CdcConnection | null = null;
    try {
      connection = await (this.options.connect ?? (() => openMssqlConnection(this.options.connectionString)))();
      for await (const batch of this.run(connection)) {
        this.yielded.push({ position: batch.position, completed: batch.completedSnapshots ?? [] });
        yield batch;
        if (this.stopping) return;
      }
    } catch (error) {
      throw this.asCaptureError(error);
    } finally {
      this.running = false;
      await connection?.close().catch(() => undefined);
    }
  }

  async acknowledge(position: Position): Promise<void> {
    if (this.acknowledged === null || position > this.acknowledged) this.acknowledged = position;
    let index = -1;
    for (let i = this.yielded.length - 1; i >= 0; i--) {
      if ((this.yielded[i] as Yielded).position <= position) {
        index = i;
        break;
      }
    }
    for (const y of this.yielded.slice(0, index + 1)) for (const t of y.completed) this.snapshotted.add(t);
    this.yielded = this.yielded.slice(index + 1);
  }

  async stats(): Promise<SourceStats> {
    return { retainedBytes: null };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
  }

  private async *run(connection: CdcConnection): AsyncGenerator<ChangeBatch> {
    const o = this.options;
    const db = (await connection.query(DATABASE_SQL.name, DATABASE_SQL.sql)).rows[0] ?? {};
    const database = String(db['db'] ?? '');
    if (db['is_cdc_enabled'] === false) {
      throw new CaptureError(`${this.system}: CDC is not enabled on database ${database} (EXEC sys.sp_cdc_enable_db)`, { system: this.system }, { retriable: false });
    }
    const isolation: SnapshotIsolation = Number(db['snapshot_isolation_state']) === 1 ? 'snapshot' : 'repeatable read';
    const instances = await resolveInstances(connection, this.system, this.tables, o.captureInstances, o.columns);
    const resume = this.acknowledged ?? o.startPosition ?? null;

    let last: string;
    if (resume !== null) {
      last = parsePosition(resume).commitLsn;
      const late = o.snapshot === 'initial' ? this.tables.filter((t) => !this.snapshotted.has(t)) : [];
      if (late.length > 0) {
        this.log('info', 'snapshotting tables without a finished snapshot', { tables: late });
        yield* this.snapshot(connection, isolation, database, instances, late, last);
      }
    } else if (o.snapshot === 'initial') {
      let lsn = ZERO_LSN;
      yield* this.snapshot(connection, isolation, database, instances, this.tables, null, (l) => (lsn = l));
      last = lsn;
    } else {
      last = lsnHex(((await connection.query(MAX_LSN_SQL.name, MAX_LSN_SQL.sql)).rows[0]?.['max_lsn'] ?? null) as Buffer | null);
    }
    this.log('info', 'sql server capture streaming', { from: last, instances: [...instances.values()].map((i) => i.name) });

    while (!this.stopping) {
      const polled = await this.poll(connection, database, instances, last);
      if (polled === null) {
        await this.sleep(o.pollIntervalMs);
        continue;
      }
      for (const batch of polled.batches) {
        yield batch;
        if (this.stopping) return;
      }
      last = polled.maxLsn;
    }
  }

  private async *snapshot(
    connection: CdcConnection, isolation: SnapshotIsolation, database: string, instances: Map<string, CaptureInstance>,
    tables: string[], lateAfter: string | null, onLsn: (lsn: string) => void = () => undefined,
  ): AsyncGenerator<ChangeBatch> {
    if (isolation !== 'snapshot') this.log('warn', 'snapshot isolation is off for this database: the snapshot reads under REPEATABLE READ (ALTER DATABASE … SET ALLOW_SNAPSHOT_ISOLATION ON avoids holding locks)');
    // The transaction stays open while the consumer takes the batches: collect them per transaction, then yield.
    const batches: ChangeBatch[] = [];
    await connection.transaction(isolation, async (runner) => {
      const plan = { system: this.system, database, tables, instances, chunkRows: this.options.maxBatchEvents, lateAfter, cancelled: () => this.stopping };
      if (this.options.onSnapshotPlanned) this.options.onSnapshotPlanned(await estimateRows(runner, tables, instances));
      for await (const batch of snapshotBatches(runner, plan, (lsn) => {
        onLsn(lsn);
        if (lateAfter !== null) for (const t of tables) this.coveredUpTo.set(t, lsn);
      })) batches.push(batch);
    });
    yield* batches;
  }

  /** One poll: null when the capture job has nothing past `last`. */
  private async poll(connection: CdcConnection, database: string, instances: Map<string, CaptureInstance>, last: string): Promise<{ batches: ChangeBatch[]; maxLsn: string } | null> {
    const bounds = (await connection.query(POLL_BOUNDS_SQL.name, POLL_BOUNDS_SQL.sql, { last: { kind: 'lsn', value: lsnBuffer(last) } })).rows[0] ?? {};
    const rawMax = bounds['max_lsn'] as Buffer | null | undefined;
    if (rawMax === null || rawMax === undefined) return null; // the capture job has not run yet
    const maxLsn = lsnHex(rawMax);
    if (maxLsn <= last) return null;
    const from = lsnHex(bounds['next_lsn'] as Buffer);
    const mins = new Map((await connection.query(MIN_LSNS_SQL.name, MIN_LSNS_SQL.sql)).rows.map((r) => [String(r['capture_instance']), lsnHex(r['min_lsn'] as Buffer)]));
    const lists: ChangeRow[][] = [];
    for (const [table, instance] of instances) {
      const min = mins.get(instance.name) ?? ZERO_LSN;
      if (min > from) {
        throw new CaptureError(
          `${this.system}: changes of ${table} from LSN ${from} on are no longer all in capture instance ${instance.name} (its oldest is ${min}):` +
            ` the CDC cleanup job removed them (retention shorter than tandem's downtime) or the instance is newer than tandem's checkpoint.` +
            ` Re-snapshot the table (delete its row from tandem's snapshots table and restart) to recover`,
          { system: this.system, table },
          { retriable: false },
        );
      }
      const { name, sql } = changesSql(instance.name, instance.columns);
      const result = await connection.query(name, sql, { from_lsn: { kind: 'lsn', value: lsnBuffer(from) }, to_lsn: { kind: 'lsn', value: rawMax } });
      const covered = this.coveredUpTo.get(table);
      const rows = changeRowsOf(instance, result);
      lists.push(covered === undefined ? rows : rows.filter((r) => r.startLsn > covered));
    }
    const nowMs = Date.now();
    const events: ChangeEvent[] = eventsOf(mergeRows(lists), { system: this.system, database, nowMs });
    const batches = batchesOf(this.system, events, this.options.maxBatchEvents);
    if (batches.length === 0) {
      // Only other tables changed: an empty batch moves the position (and lag) on.
      const maxMs = bounds['max_time_ms'];
      batches.push({ system: this.system, events: [], position: `${maxLsn}:${ZERO_LSN}:00000000`, sourceTimeMs: maxMs == null ? nowMs : Number(maxMs) });
    }
    return { batches, maxLsn };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private asCaptureError(error: unknown): unknown {
    if (error instanceof TandemError) return error;
    return new CaptureError(`sqlserver capture failed: ${(error as Error)?.message ?? error}`, { system: this.system }, { cause: error });
  }
}
