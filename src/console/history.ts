import type { PipelineStats } from '../pipeline';

/** One sample of what the pipeline reports, taken every few seconds. */
export interface Sample {
  /** ms since epoch */
  at: number;
  lagSeconds: Record<string, number>;
  outboxDepth: number;
  events: PipelineStats['events'];
  tasks: PipelineStats['tasks'];
}

/** How often the console samples, and how much it keeps: the last hour, in memory. */
export const SAMPLE_EVERY_MS = 2_000;
export const KEEP_MS = 3_600_000;

/**
 * The last hour of lag, pending work and stage counters, kept in memory by
 * the running process (the console's charts and rates; Prometheus keeps the
 * long history). Samples come from the pipeline's in-memory figures, never
 * from a database, so sampling goes on while the state store stalls.
 */
export class History {
  private readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly read: () => PipelineStats, private readonly everyMs = SAMPLE_EVERY_MS, private readonly keepMs = KEEP_MS) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  sample(now = Date.now()): Sample {
    const stats = this.read();
    const sample: Sample = { at: now, lagSeconds: { ...stats.lagSeconds }, outboxDepth: stats.outboxDepth, events: { ...stats.events }, tasks: { ...stats.tasks } };
    this.samples.push(sample);
    while (this.samples.length > 0 && this.samples[0]!.at < now - this.keepMs) this.samples.shift();
    return sample;
  }

  all(): readonly Sample[] {
    return this.samples;
  }

  /** The oldest sample at least `ms` old (the reference for a rate over that span), or the oldest kept. */
  since(ms: number, now = Date.now()): Sample | undefined {
    let found: Sample | undefined;
    for (const s of this.samples) {
      if (s.at <= now - ms) found = s;
      else break;
    }
    return found ?? this.samples[0];
  }
}

/** Per second, between two counts `seconds` apart (0 when no time passed). */
export function perSecond(now: number, before: number, seconds: number): number {
  return seconds > 0 ? Math.max(0, now - before) / seconds : 0;
}
