import type { Fields } from '../transform';

/**
 * One write to one target system, durable in the outbox before it is tried.
 * Written in the same transaction as the decision that caused it.
 */
export interface ApplyTask {
  /** Outbox id; also the idempotency key for the target. */
  id: string;
  target: string;
  entity: string;
  /** Canonical record key. */
  key: string;
  op: 'upsert' | 'delete';
  /** Canonical values to set (the changed fields). */
  fields: Fields;
  /** Values the target is believed to hold for `fields` now: the write is conditional on them. */
  expected: Fields;
  /** The whole canonical record, for when the target has no row yet. */
  record: Fields;
  /**
   * `propagate` carries an accepted change, `correct` pushes a kept value back
   * to an offender, `exception` writes an exception's state to the row a
   * refused change came from (the mapping's exception columns only).
   */
  reason: 'propagate' | 'correct' | 'exception';
  correlationId: string;
  /** Source commit time of the change this task carries out, when known (metrics). */
  commitTimeMs?: number | null;
  attempts: number;
  createdAtMs: number;
  /**
   * The apply intent it was handed over in, in process (a single instance,
   * see store/intents.ts); absent for a task claimed from the outbox.
   */
  intent?: string;
}

/** How a task ended in the target. */
export type ApplyOutcome =
  | { status: 'applied'; localKey: string }
  /** The target already held the values (a redelivered task): nothing written. */
  | { status: 'already-applied'; localKey: string }
  /** The target changed under us; its own change event will be resolved instead. */
  | {
    status: 'superseded'; localKey: string | null; fields: string[];
    /** The row is gone from the system owning the record's existence (its delete): not put back. */
    goneFromOwner?: true;
  }
  | { status: 'deleted'; localKey: string | null };
