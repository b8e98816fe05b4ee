import type { ComponentHealth } from '../pipeline';
import type { Sample } from './history';

/** How the pipeline is doing, in one word and the reasons: the overview's banner. */
export interface Assessment {
  state: 'ok' | 'degraded' | 'stalled' | 'failed';
  headline: string;
  reasons: string[];
}


export interface AssessInput {
  now: number;
  components: readonly ComponentHealth[];
  /** Capture lag per source, as /metrics reports it. */
  lagSeconds: Record<string, number>;
  /** Why the state store did not answer, or null when it did. */
  storeProblem: string | null;
  pending: number;
  /** Where that work waits, per target (`erp: 2 in flight, oldest 5s`), when the state store said. */
  pendingWhere?: string | null;
  history: readonly Sample[];
  /**
   * `console.stallAfter`: a source whose durable position is older than this
   * is stalled (idle sources stay below it through heartbeats), and so is
   * pending work with no task finished for this long.
   */
  stallAfterSeconds: number;
}

const RANK = { ok: 0, degraded: 1, stalled: 2, failed: 3 } as const;

export function assess(input: AssessInput): Assessment {
  let state: Assessment['state'] = 'ok';
  const reasons: string[] = [];
  const raise = (to: Assessment['state'], reason: string) => {
    if (RANK[to] > RANK[state]) state = to;
    reasons.push(reason);
  };
  const since = (ms: number) => `since ${new Date(ms).toISOString().slice(11, 19)} UTC, ${Math.round((input.now - ms) / 1000)} s ago`;
  for (const c of input.components.filter((c) => c.state === 'failed')) raise('failed', `${c.component} FAILED ${since(c.sinceMs)}: ${c.reason ?? ''}`);
  if (input.storeProblem) raise('stalled', `state store not answering (${input.storeProblem}): nothing is resolved or applied until it answers`);
  for (const [system, lag] of Object.entries(input.lagSeconds)) {
    if (lag >= input.stallAfterSeconds) raise('stalled', `source ${system}: lag ${Math.round(lag)} s, no new position made durable ${since(input.now - lag * 1000)}`);
  }
  const stuck = stalledWork(input);
  if (stuck) raise('stalled', stuck);
  for (const c of input.components.filter((c) => c.state === 'degraded')) raise('degraded', `${c.component} degraded ${since(c.sinceMs)}: ${c.reason ?? ''}`);
  const lags = Object.values(input.lagSeconds);
  const maxLag = lags.length > 0 ? Math.max(...lags) : 0;
  const headline = {
    ok: `Flowing: lag at most ${maxLag.toFixed(1)} s, ${input.pending} task${input.pending === 1 ? '' : 's'} pending`,
    degraded: 'Degraded: working around a fault',
    stalled: 'STALLED',
    failed: 'FAILED: a part has stopped for good and needs a person',
  }[state];
  return { state, headline, reasons };
}

/** Pending work while no task has finished for `stallAfterSeconds` (by the in-memory samples). */
function stalledWork({ now, pending, pendingWhere, history, stallAfterSeconds }: AssessInput): string | null {
  if (pending === 0 || history.length < 2) return null;
  const latest = history.at(-1)!;
  const finished = (s: Sample) => s.tasks.applied + s.tasks.superseded + s.tasks.deadLettered;
  // The newest sample whose finished count differs from now's: work was done up to then.
  let lastProgress: Sample | null = null;
  for (let i = history.length - 2; i >= 0; i--) {
    if (finished(history[i]!) !== finished(latest)) {
      lastProgress = history[i + 1]!;
      break;
    }
  }
  const quietSince = lastProgress?.at ?? history[0]!.at;
  const quietSeconds = (now - quietSince) / 1000;
  if (quietSeconds < stallAfterSeconds || latest.outboxDepth === 0) return null;
  const where = pendingWhere ? ` (${pendingWhere}): look at that target for locks, a full disk or a hung connection` : '';
  return `${pending} task${pending === 1 ? '' : 's'} pending and none finished for ${Math.round(quietSeconds)} s${lastProgress ? '' : ' (as long as this console has watched)'}${where}`;
}
