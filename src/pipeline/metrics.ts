import type { ApplyTask } from '../apply';
import type { ChangeBatch } from '../capture';
import type { ConflictEntry, Decision } from '../conflict';
import type { TandemMetrics } from '../metrics';
import type { PipelineStats } from './types';

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

  constructor(private readonly prom: TandemMetrics | null) {}

  eventsCaptured(system: string, count: number): void {
    this.counts.events.captured += count;
    this.prom?.events.inc({ stage: 'captured', system }, count);
  }

  eventsSkipped(reason: string, count: number): void {
    if (count === 0) return;
    this.counts.events.skipped += count;
    this.prom?.events.inc({ stage: `skipped_${reason}`, system: '' }, count);
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
    for (const c of conflicts) this.prom?.conflicts.inc({ entity: c.entity, decision: c.outcome });
    this.sourceTimes.set(batch.system, Math.max(this.sourceTimes.get(batch.system) ?? 0, batch.sourceTimeMs));
  }

  sourceStarted(system: string): void {
    if (!this.sourceTimes.has(system)) this.sourceTimes.set(system, Date.now());
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

  lagSeconds(now = Date.now()): Record<string, number> {
    const lag: Record<string, number> = {};
    for (const [system, time] of this.sourceTimes) lag[system] = Math.max(0, (now - time) / 1000);
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
