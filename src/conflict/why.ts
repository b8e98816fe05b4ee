import type { Value } from '../capture';

/**
 * Why a conflict-log entry ended as it did, in words, from what the entry
 * stores (its system, commit time, values, rule text and decision) and, when
 * known, the side it competed with (the change that set the current value).
 * Used by `tandem conflicts show`; pure, so the console can say the same.
 */

/** The columns of a logged entry the explanation reads. */
export interface LoggedDecision {
  system: string;
  field: string;
  entity: string;
  commitTime: Date;
  position: string;
  txId: string | null;
  attempted: Value | null;
  current: Value | null;
  kept: Value | null;
  rule: string;
  decision: string;
}

/** The change that set the value the entry's change competed with. */
export interface CompetingSide {
  system: string;
  commitTime: Date;
  position: string;
}

export interface DecisionExplanation {
  /** Who won: `erp ("ACME Ltd", kept)`, or who is still to decide. */
  winner: string;
  /** One line per side: its system, commit time, position and value. */
  sides: Array<[string, string]>;
  /** The rule and how it applied. */
  why: string;
}

/** How the rule text (FieldRule.name, as logged) reads. */
export type RuleKind = 'owner' | 'workflow' | 'existence' | 'latest-wins' | 'tie' | 'max' | 'min' | 'first-wins' | 'manual' | 'other';

export function ruleKind(rule: string): RuleKind {
  if (/ latest-wins \(tie within \d+ ms precision → priority\)$/.test(rule)) return 'tie';
  if (/ latest-wins$/.test(rule)) return 'latest-wins';
  if (/ owner=\S+ \(existence\)$/.test(rule)) return 'existence';
  if (/ owner=\S+ workflow$/.test(rule)) return 'workflow';
  if (/ owner=\S+( \(entity default\))?$/.test(rule)) return 'owner';
  const policy = / (max|min|first-wins|manual)$/.exec(rule);
  return policy ? (policy[1] as RuleKind) : 'other';
}

export function explainDecision(entry: LoggedDecision, other: CompetingSide | null, priority: readonly string[] | null): DecisionExplanation {
  const json = (v: Value | null) => JSON.stringify(v ?? null);
  const kind = ruleKind(entry.rule);
  const won = entry.decision === 'accepted';
  const otherName = other?.system ?? 'the current value';
  const sides: Array<[string, string]> = [
    [`${entry.system} (this change)`, `committed ${iso(entry.commitTime)} at ${entry.position}${entry.txId ? ` (tx ${entry.txId})` : ''}: ${json(entry.attempted)}`],
    [other ? `${other.system} (current value)` : 'current value', other
      ? `committed ${iso(other.commitTime)} at ${other.position}: ${json(entry.current)}`
      : `${json(entry.current)}; its commit time is not in the log entry, and the change that set it is not in the change journal (pruned after journal.retentionHours, or journalling off)`],
  ];
  const winner = entry.decision === 'held' ? `nobody yet: held for review, ${json(entry.current)} stays meanwhile`
    : won ? `${entry.system} (${json(entry.kept)})`
      : entry.decision === 'rejected' ? `${otherName} (${json(entry.kept)} kept; ${entry.system}'s ${json(entry.attempted)} refused)`
        : `${json(entry.kept)} kept (decision ${entry.decision})`;
  return { winner, sides, why: reason(entry, kind, other, priority) };
}

function reason(entry: LoggedDecision, kind: RuleKind, other: CompetingSide | null, priority: readonly string[] | null): string {
  const owner = / owner=(\S+)/.exec(entry.rule)?.[1];
  const field = `${entry.entity}.${entry.field}`;
  switch (kind) {
    case 'owner':
      return `owner: ${field} is owned by ${owner}; a change by ${entry.system} is refused whatever its commit time`;
    case 'workflow':
      return `workflow transition: ${field} is owned by ${owner}, and ${entry.system} may not move it from ${state(entry.current)} to ${state(entry.attempted)} (not among its allowed transitions)`;
    case 'existence':
      return `owner: the existence of ${entry.entity} records is owned by ${owner}; ${entry.system} may not delete one`;
    case 'latest-wins':
      return `latest commit: ${latestText(entry, other)}`;
    case 'tie': {
      const window = /tie within (\d+) ms/.exec(entry.rule)![1];
      return `tie-break by priority: the commit times lie within ${window} ms, the coarser source's precision, so neither is known to be later; ${priorityText(entry, other, priority)}`;
    }
    case 'max':
    case 'min':
      return `${kind}: the ${kind === 'max' ? 'larger' : 'smaller'} value wins (${JSON.stringify(entry.kept)})`;
    case 'first-wins':
      return `first-wins: the system that set ${field} first keeps it`;
    case 'manual':
      return 'manual: a change to a set value waits for a person (tandem conflicts resolve)';
    case 'other':
      return entry.rule;
  }
}

function latestText(entry: LoggedDecision, other: CompetingSide | null): string {
  if (!other) return entry.decision === 'accepted' ? `${entry.system}'s commit is the later one` : `the current value's commit is later than ${entry.system}'s`;
  const gap = entry.commitTime.getTime() - other.commitTime.getTime();
  // Equal millisecond times are a tie, and priority decides (the rule text carries no window then).
  if (gap === 0) return `both committed at ${iso(entry.commitTime)}: a tie, decided by priority`;
  const [later, earlier] = gap > 0 ? [entry.system, other.system] : [other.system, entry.system];
  return `${later} committed ${seconds(Math.abs(gap))} after ${earlier}`;
}

function priorityText(entry: LoggedDecision, other: CompetingSide | null, priority: readonly string[] | null): string {
  const winner = entry.decision === 'accepted' ? entry.system : other?.system ?? 'the current value\u2019s system';
  return priority && priority.length > 0 ? `priority ${priority.join(' before ')} gives it to ${winner}` : `priority gives it to ${winner}`;
}

function state(value: Value | null): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')} s`;
}

function iso(time: Date): string {
  return time.toISOString();
}
