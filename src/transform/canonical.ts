import type { ChangeEvent, Value } from '../capture';

/** Canonical field name → value. */
export type Fields = Record<string, Value>;

/**
 * A source row change expressed in canonical terms: which entity and record,
 * and the canonical field values before and after. Produced by a mapping,
 * consumed by the conflict resolver.
 */
export interface CanonicalChange {
  entity: string;
  system: string;
  /** The source row's key in the crosswalk's text form (see `localKeyText`). */
  localKey: string;
  /**
   * The canonical record key, filled from the crosswalk before resolution
   * (`null` straight out of the mapping).
   */
  key: string | null;
  kind: 'upsert' | 'delete';
  /** Canonical values before the change, where the before-image has them. */
  before: Fields | null;
  /** Canonical values after; only fields the source actually sent. */
  after: Fields | null;
  /**
   * Reference fields still holding the source's local key of another entity;
   * replaced by canonical keys through the crosswalk before resolution.
   */
  refs: Record<string, { entity: string; localKey: string | null }>;
  event: ChangeEvent;
}

/** Where a canonical field's value came from. */
export interface FieldProvenance {
  system: string;
  commitTimeMs: number;
  /** The source's commit-time precision (see `SourceInfo.commitTimePrecisionMs`); absent: 1 ms. */
  commitTimePrecisionMs?: number;
  position: string;
  correlationId: string;
}

/** The record tandem believes every system should converge to. */
export interface CanonicalRecord {
  entity: string;
  key: string;
  fields: Fields;
  provenance: Record<string, FieldProvenance>;
  deleted: boolean;
  /** Highest position applied per source system: anything at or below it is a redelivery. */
  positions: Record<string, string>;
  /**
   * What tandem last knew each system to hold (its own change events, and the
   * writes tandem has queued for it). Writes are conditional on it, so a
   * concurrent edit in the target is never overwritten unseen.
   */
  shadows: Record<string, Fields>;
  version: number;
}
