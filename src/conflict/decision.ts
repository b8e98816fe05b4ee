import type { Operation } from 'fast-json-patch';
import type { Value } from '../capture';
import type { CanonicalRecord, Fields } from '../transform';

/** What happened to one attempted field change that the rules had an opinion on. */
export type ConflictOutcome =
  /** A non-owner changed an owned field, or lost a race on a shared one: the change is refused. */
  | 'rejected'
  /** Two systems changed a shared field concurrently and this change won. */
  | 'accepted'
  /** Held for a person to decide (manual review); the current value stays. */
  | 'held'
  /** A person decided a held entry (`tandem conflicts resolve`); the rule names the held entry's id. */
  | 'resolved'
  /** A person discarded a dead letter (`tandem dlq discard`); the rule names the letter, who and why. */
  | 'discarded'
  /**
   * A target refused an accepted change for good (constraint, length, type,
   * a 4xx): an exception is open; the rule holds the target and its error,
   * `kept` what the target still holds.
   */
  | 'target-rejected'
  /** The target took the record's latest state after an exception (a fix at source, or `tandem dlq retry`). */
  | 'exception-resolved'
  /** `tandem compare --repair` wrote the rule-correct value to a side that had drifted; the rule names the compare run. */
  | 'repair'
  /** Two records were merged into one (`merge:`): the key is the loser, kept the survivor (see merge.ts). */
  | 'merged';

/** One row of the conflict log, before it is chained and stored. */
export interface ConflictEntry {
  entity: string;
  key: string;
  field: string;
  system: string;
  table: string;
  position: string;
  txId: string | null;
  commitTimeMs: number;
  correlationId: string;
  /** The value the system tried to write. */
  attempted: Value;
  /** The value that system had before its change (its before-image), when known. */
  before: Value | undefined;
  /** The canonical value when the change arrived. */
  current: Value | undefined;
  /** The canonical value after the decision. */
  kept: Value | undefined;
  /** Which rule decided, e.g. `customer.credit_limit owner=erp`. */
  rule: string;
  /**
   * The version of that rule, for a field whose rule changes at a cutover
   * (`customer.credit_limit@wave1`); absent for rules without versions.
   */
  ruleVersion?: string;
  outcome: ConflictOutcome;
  /** The JSON Patch that was applied (accepted) or refused (rejected, held). */
  patch: Operation[];
  /** Whether the kept value is written back to the system that lost. */
  corrected: boolean;
}

/** A write the resolver wants made in one system. */
export interface PlannedWrite {
  system: string;
  op: 'upsert' | 'delete';
  /** Canonical values to set. */
  fields: Fields;
  /** Values the target is believed to hold for those fields now. */
  expected: Fields;
  /** `propagate` carries an accepted change; `correct` pushes the owner's value back to an offender. */
  reason: 'propagate' | 'correct';
}

/** The resolver's answer for one change against one record. */
export interface Decision {
  /** The record after the change (unchanged when everything was rejected). */
  record: CanonicalRecord;
  /** RFC 6902 patch applied to `record.fields`. */
  patch: Operation[];
  conflicts: ConflictEntry[];
  writes: PlannedWrite[];
  /**
   * `redelivered`: the record already has this position from this system, so
   * the change was resolved before and changes nothing. (Echoes of tandem's
   * own writes never get here: the resolve stage drops them by origin.)
   */
  skipped: false | 'redelivered';
}
