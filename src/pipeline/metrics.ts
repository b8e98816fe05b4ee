import type { ApplyTask } from '../apply';
import type { ChangeBatch } from '../capture';
import type { ConflictEntry, Decision } from '../conflict';
import { labelValue, type TandemMetrics } from '../metrics';
import type { PipelineStats } from './types';

/** Added to a heartbeat source's quiet allowance: a binlog event's timestamp is truncated to the second. */
const QUIET_SLACK_MS = 1_000;

/** Counts what the stages do, for Prometheus and for `stats()`. */
export class PipelineMetrics {
  private readonly counts: PipelineStats = {
    events: { captured: 0, mapped: 0, resolved: 0, skipped: 0, deadLettered: 0 },
    tasks: { applied: 0, superseded: 0, waiting: 0, failed: 0, deadLettered: 0 },
    lagSeconds: {},
    conflicts: 0,
    outboxDepth: 0,
  };
  /** Newest source time (ms) whose effects are durable, per system. */
  private readonly sourceTimes = new Map<string, number>();
  /**
   * Per system: how long after its newest source time a caught-up source may
   * stay quiet before that silence counts as lag (its heartbeat interval and
   * a half, plus a second: binlog timestamps have whole seconds; 0 for
   * sources without heartbeats, whose lag always counts).
   */
  private readonly quietAllowanceMs = new Map<string, number>();
  /** Systems whose last durable batch left nothing queued behind it. */
  private readonly caughtUp = new Set<string>();

  constructor(private readonly prom: TandemMetrics | null, private readonly clock: () => number = Date.now) {}

  eventsCaptured(system: string, count: number): void {
    this.counts.events.captured += count;
    this.prom?.events.inc({ stage: 'captured', system }, count);
  }

  eventsSkipped(system: string, reason: string, count: number): void {
    if (count === 0) return;
    this.counts.events.skipped += count;
    this.prom?.events.inc({ stage: `skipped_${reason}`, system }, count);
  }

  batchResolved(batch: ChangeBatch, decisions: Decision[], conflicts: ConflictEntry[], deadLettered: number): void {
    const resolved = decisions.filter((d) => d.skipped !== 'redelivered').length;
    this.counts.events.mapped += decisions.length;
    this.counts.events.resolved += resolved;
    this.counts.events.skipped += decisions.length - resolved;
    this.counts.events.deadLettered += deadLettered;
    this.counts.conflicts += conflicts.length;
    this.prom?.events.inc({ stage: 'resolved', system: batch.system }, resolved);
    if (deadLettered > 0) this.prom?.events.inc({ stage: 'dead_lettered', system: batch.system }, deadLettered);
    for (const c of conflicts) this.prom?.conflicts.inc({ entity: c.entity, decision: c.outcome, rule: labelValue(c.rule) });
    this.sourceTimes.set(batch.system, Math.max(this.sourceTimes.get(batch.system) ?? 0, batch.sourceTimeMs));
  }

  /** `heartbeatMs`: how often the source proves it is caught up when nothing changes (0: never). */
  sourceStarted(system: string, heartbeatMs = 0): void {
    if (!this.sourceTimes.has(system)) this.sourceTimes.set(system, this.clock());
    this.quietAllowanceMs.set(system, heartbeatMs > 0 ? heartbeatMs * 1.5 + QUIET_SLACK_MS : 0);
  }

  /** A batch is durable; `backlog`: batches captured and queued behind it. */
  batchDurable(system: string, backlog: number): void {
    if (backlog === 0) this.caughtUp.add(system);
    else this.caughtUp.delete(system);
  }

  /** One batch from hand-over to durable. */
  batchResolveTime(system: string, seconds: number): void {
    this.prom?.resolveDuration.observe({ system }, seconds);
  }

  taskFinished(target: string, outcome: string): void {
    if (outcome === 'superseded') this.counts.tasks.superseded++;
    else if (outcome === 'dead' || outcome === 'held') this.counts.tasks.deadLettered++;
    else if (outcome === 'folded') this.counts.tasks.waiting++;
    else if (outcome === 'retry') this.counts.tasks.failed++;
    else if (outcome === 'waiting') this.counts.tasks.waiting++;
    else this.counts.tasks.applied++;
    this.prom?.tasks.inc({ target, outcome });
  }

  /**
   * A task carried out in its target: the time from its change's source
   * commit to now, per entity and target (sync completion; a change is
   * complete everywhere when its slowest target's task is).
   */
  taskCompleted(task: Pick<ApplyTask, 'entity' | 'commitTimeMs' | 'reason'>, target: string, now = Date.now()): void {
    if (task.commitTimeMs === null || task.commitTimeMs === undefined || task.reason === 'exception') return;
    this.prom?.syncCompletion.observe({ entity: task.entity, target }, Math.max(0, (now - task.commitTimeMs) / 1000));
  }

  /**
   * Per system: seconds since the newest source time whose effects are
   * durable. A caught-up source with nothing queued is 0 until its next
   * heartbeat is overdue: between heartbeats an idle source has nothing to
   * deliver, and counting the time since the last one made idle lag saw-tooth
   * between 0 and the heartbeat interval. Once overdue (capture stuck, the
   * database away) the whole time since counts, so a stall still shows.
   */
  lagSeconds(now = this.clock()): Record<string, number> {
    const lag: Record<string, number> = {};
    for (const [system, time] of this.sourceTimes) {
      const behindMs = Math.max(0, now - time);
      const quiet = this.caughtUp.has(system) && behindMs <= (this.quietAllowanceMs.get(system) ?? 0);
      lag[system] = quiet ? 0 : behindMs / 1000;
    }
    return lag;
  }

  snapshot(outboxDepth: number): PipelineStats {
    return {
      events: { ...this.counts.events },
      tasks: { ...this.counts.tasks },
      lagSeconds: this.lagSeconds(),
      conflicts: this.counts.conflicts,
      outboxDepth,
    };
  }
}
