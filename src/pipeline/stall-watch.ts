/**
 * Progress of each stage (a source's resolve, a target's apply), for
 * `/readyz`: a stage is stalled when it has work in hand (a batch being made
 * durable, an apply round under way) and has made no progress for longer than
 * the allowance. Liveness is not this: a stalled process is alive, and a
 * restart would not unlock a state-store table someone else holds.
 */
export interface StageStall {
  stage: string;
  /** Seconds since the stage last moved while work waited. */
  seconds: number;
}

interface StageEntry {
  /** Units of work begun and not yet ended. */
  inHand: number;
  lastProgressMs: number;
}

export class StallWatch {
  private readonly stages = new Map<string, StageEntry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Work starts; the clock of a stage that was idle starts now (idle time is not a stall). */
  begin(stage: string): void {
    const entry = this.stages.get(stage);
    if (!entry || entry.inHand === 0) this.stages.set(stage, { inHand: 1, lastProgressMs: this.now() });
    else entry.inHand++;
  }

  /** Work ends (done or failed: a failure is not a stall, health reports it). */
  end(stage: string): void {
    const entry = this.stages.get(stage);
    if (!entry) return;
    entry.inHand = Math.max(0, entry.inHand - 1);
    entry.lastProgressMs = this.now();
  }

  /** Part of the work in hand is done (a chunk of a round): the stage moves. */
  progress(stage: string): void {
    const entry = this.stages.get(stage);
    if (entry) entry.lastProgressMs = this.now();
  }

  /** Runs `work` between begin and end. */
  async around<T>(stage: string, work: () => Promise<T>): Promise<T> {
    this.begin(stage);
    try {
      return await work();
    } finally {
      this.end(stage);
    }
  }

  stalled(allowanceMs: number): StageStall[] {
    const now = this.now();
    const out: StageStall[] = [];
    for (const [stage, entry] of this.stages) {
      if (entry.inHand > 0 && now - entry.lastProgressMs > allowanceMs) out.push({ stage, seconds: (now - entry.lastProgressMs) / 1000 });
    }
    return out.sort((a, b) => a.stage.localeCompare(b.stage));
  }
}
