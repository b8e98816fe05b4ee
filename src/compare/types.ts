import type { Value } from '../capture';

/**
 * What kind of divergence a difference is:
 * - `missing`: the record is live but a system that maps its entity has no row for it;
 * - `unlinked`: a system has a row that no crosswalk link ties to a live record;
 * - `deleted`: a system still has the row of a record that was deleted;
 * - `field`: the systems (or the canonical record) disagree on one field.
 */
export type DifferenceKind = 'missing' | 'unlinked' | 'deleted' | 'field';

/** Why a difference is already known to tandem: pending work or a parked failure covers that record. */
export interface Explanation {
  by: 'outbox' | 'dead-letter';
  /** Outbox task id or dead-letter id. */
  id: string;
  /** For outbox tasks: pending, inflight or dead. */
  status: string;
}

/** Where a system does not hold what the rules say it should. */
export interface Difference {
  entity: string;
  kind: DifferenceKind;
  /** Canonical key; for an unlinked row `<system>:<local key>` (or its link's canonical key when it has one). */
  key: string;
  /** `field` only: the canonical field. */
  field: string | null;
  /** Systems that hold the wrong thing; `canonical` when the state store's record is the one that is wrong. */
  wrong: string[];
  /** What each system holds (absent: no row or field not mapped), and the canonical record's value. */
  values: Record<string, Value | undefined>;
  /** The rule-correct value (field) and the rule or fact that makes it right. */
  right: { value: Value | undefined; by: string };
  /** Row keys in the systems involved (for unlinked rows and repairs). */
  localKeys: Record<string, string>;
  explained: Explanation | null;
}

/** Per entity: how much was compared and how much disagrees. */
export interface EntityReport {
  entity: string;
  systems: string[];
  /** `pushdown` when key-range hashes were compared in the databases first, else `stream`. */
  method: 'pushdown' | 'stream';
  /** Live canonical records compared (stream), or rows of the larger side (pushdown). */
  records: number;
  /** Rows read row by row from the systems. */
  rowsRead: number;
  /** Rows whose agreement was proved by matching range hashes (pushdown). */
  rowsHashed: number;
  /** Records with at least one difference (explained ones included). */
  recordsMismatched: number;
  /** Field differences, per field. */
  fieldsMismatched: Record<string, number>;
  /** Differences per kind. */
  byKind: Record<DifferenceKind, number>;
  /** Differences an open outbox task or dead letter explains. */
  explained: number;
  /** Of those, the ones a pending or in-flight outbox task is about to fix (they do not make the systems disagree). */
  explainedInFlight: number;
  /** Differences listed (at most the limit); the counts above are complete. */
  differences: Difference[];
  durationMs: number;
}

export interface CompareReport {
  runId: string;
  startedAt: Date;
  durationMs: number;
  entities: EntityReport[];
  /** Whether every system agrees (differences explained by in-flight outbox tasks excepted). */
  agreed: boolean;
  repairs: RepairSummary | null;
}

export interface RepairSummary {
  /** Outbox tasks queued. */
  tasks: number;
  /** Conflict-log entries written (decision `repair`). */
  logged: number;
  /** Canonical records corrected (an owner's value the record did not hold, a row adopted). */
  records: number;
  /** Records not repaired (all of them counted; the first 100 listed with the reason). */
  skippedTotal: number;
  skipped: Array<{ entity: string; key: string; reason: string }>;
}

/** Whether a difference keeps the systems apart: anything but a write already on its way. */
export function isOutstanding(difference: Difference): boolean {
  return difference.explained === null || difference.explained.by === 'dead-letter' || difference.explained.status === 'dead';
}
