import type { PipelineStats, RunningPipeline } from '../pipeline';

const STATUS_EVERY_MS = 3_000;

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

/**
 * Runs `work` while printing a status line every few seconds; `announce`, asked
 * before each line, may print one of its own first (a cutover coming into force).
 */
export async function watch<T>(
  pipeline: RunningPipeline, print: (line: string) => void, work: () => Promise<T>, announce: () => string | null = () => null,
): Promise<T> {
  let before: PipelineStats | null = pipeline.stats();
  let last = Date.now();
  const timer = setInterval(() => {
    const now = pipeline.stats();
    const news = announce();
    if (news !== null) print(news);
    print(statusLine(now, before, (Date.now() - last) / 1000));
    [before, last] = [now, Date.now()];
  }, STATUS_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
