import type { PipelineStats } from '../pipeline';

/** One status line from two successive stats readings `seconds` apart. */
export function statusLine(now: PipelineStats, before: PipelineStats | null, seconds: number): string {
  const rate = before ? (now.events.captured - before.events.captured) / seconds : 0;
  const lag = Object.entries(now.lagSeconds)
    .map(([system, s]) => `${system} ${s.toFixed(1)}s`)
    .join(', ');
  return [
    `events/s ${rate.toFixed(0).padStart(6)}`,
    `lag ${lag || '-'}`,
    `conflicts ${now.conflicts}`,
    `outbox ${now.outboxDepth}`,
    `applied ${now.tasks.applied}`,
    now.tasks.failed + now.tasks.deadLettered > 0 ? `failed ${now.tasks.failed} dead ${now.tasks.deadLettered}` : '',
  ]
    .filter(Boolean)
    .join(' | ');
}
