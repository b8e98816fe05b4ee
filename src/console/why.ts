import type { ConflictRow } from '../store';

/** The other side of a conflict: the newest change of the field by another system before this one (from the change journal). */
export interface Competitor {
  system: string;
  commitTime: Date;
  position: string;
}

export interface Explained {
  /** Which system's value was kept, or why there is no winner. */
  winner: string;
  /** True when the logged change's own system won. */
  thisSideWon: boolean | null;
  why: string;
}

const time = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', ' UTC');

/**
 * Who won and why, in words, from the logged row, the rule it names and
 * (for latest-wins) the other side's commit time: owner, workflow
 * transition, latest commit, or tie-break by priority.
 */
export function explainConflict(row: ConflictRow, other: Competitor | null, priority: readonly string[]): Explained {
  const rival = other?.system ?? 'the value it met';
  const owner = /owner=([a-z][a-z0-9_]*)/.exec(row.rule)?.[1];
  switch (row.decision) {
    case 'held':
      return { winner: 'none yet: held for manual review', thisSideWon: null, why: `rule ${row.rule}: every change to a set value waits for a person (tandem conflicts resolve ${row.id})` };
    case 'resolved':
      return { winner: 'decided by a person', thisSideWon: null, why: row.rule };
    case 'target-rejected':
      return { winner: `none: the target refused the write`, thisSideWon: false, why: row.rule };
    case 'discarded':
      return { winner: 'none: given up', thisSideWon: null, why: row.rule };
    case 'exception-resolved':
    case 'repair':
      return { winner: row.system, thisSideWon: true, why: row.rule };
  }
  const won = row.decision === 'accepted';
  const winner = won ? row.system : rival;
  if (owner) {
    const workflow = row.rule.includes(' workflow');
    if (owner === row.system) return { winner, thisSideWon: won, why: `owner: ${owner} owns ${row.entity}.${row.field}` };
    if (won) return { winner, thisSideWon: true, why: `workflow transition: ${row.system} may move ${row.field} from ${JSON.stringify(row.current)} to ${JSON.stringify(row.attempted)} although ${owner} owns it` };
    return {
      winner: owner, thisSideWon: false,
      why: `owner: ${owner} owns ${row.entity}.${row.field}; ${row.system} does not${workflow ? `, and no workflow transition allows ${JSON.stringify(row.current)} → ${JSON.stringify(row.attempted)} for it` : ''}`,
    };
  }
  if (row.rule.includes('latest-wins')) {
    const tie = /\(tie within (\d+) ms precision → priority\)/.exec(row.rule);
    const exactTie = other !== null && other.commitTime.getTime() === row.commitTime.getTime();
    if (tie || exactTie) {
      return {
        winner, thisSideWon: won,
        why: `tie-break by priority [${priority.join(', ')}]: the commit times ${tie ? `lie within ${tie[1]} ms of each other (the coarser source's precision)` : 'are equal'}, so ${winner} comes first`,
      };
    }
    if (!other) return { winner, thisSideWon: won, why: `latest commit wins: ${row.system} committed at ${time(row.commitTime)}; the other side's commit is no longer in the change journal` };
    return {
      winner, thisSideWon: won,
      why: `latest commit wins: ${row.system} committed at ${time(row.commitTime)}, ${other.system} at ${time(other.commitTime)}; ${won ? row.system : other.system} is later`,
    };
  }
  if (/ (max|min)$/.test(row.rule)) return { winner, thisSideWon: won, why: `${row.rule.endsWith('max') ? 'the larger' : 'the smaller'} value wins (${row.rule})` };
  if (row.rule.endsWith('first-wins')) return { winner, thisSideWon: won, why: `the first system to set it keeps it (${row.rule})` };
  return { winner, thisSideWon: won, why: row.rule };
}
