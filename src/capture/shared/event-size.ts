/**
 * Estimated memory of captured changes, the unit capture's buffers are
 * bounded by (`pipeline.captureBufferBytes`): a fixed part (the event, its
 * source info, the row objects) plus the wire size (pgoutput message, a
 * binlog rows event's share per row, Kafka message value) times
 * WIRE_TO_MEMORY (values become strings and properties). Measured with
 * pgoutput (heap after a full GC, 7 December 2026): the bench's rows (6
 * columns, REPLICA IDENTITY FULL, half inserts, half updates) take 1,122
 * bytes per event, estimated 1,085; rows with a 1,920-character text value
 * take 2,548, estimated 3,156 (long ASCII strings take about their length).
 * Erring high keeps the bound.
 */
import type { Row } from '../change-event';

/** Memory an event takes beyond its values: the event, its source info, two row objects, ids. */
export const EVENT_OVERHEAD_BYTES = 800;
/** Memory per byte of wire message: values become JS strings and properties. */
export const WIRE_TO_MEMORY = 1.5;

export function estimateEventBytes(wireBytes: number): number {
  return Math.round(EVENT_OVERHEAD_BYTES + WIRE_TO_MEMORY * wireBytes);
}

/** For rows read by a snapshot query (no wire message of their own): the length of their values as text. */
export function estimateRowBytes(row: Row | null): number {
  if (!row) return EVENT_OVERHEAD_BYTES;
  let wire = 0;
  for (const [column, value] of Object.entries(row)) wire += column.length + 4 + (value === null ? 0 : typeof value === 'string' ? value.length : JSON.stringify(value)?.length ?? 8);
  return estimateEventBytes(wire);
}

/** Limits a streaming source derives from its buffer budget. */
export interface CaptureLimits {
  /** A batch is cut (whole transactions, or a part of a huge one) at this many bytes. */
  maxBatchBytes: number;
  /** The stream pauses when this many bytes of batches are queued... */
  pauseAtBytes: number;
  /** ...and resumes reading below this. */
  resumeBelowBytes: number;
}

/**
 * Half the budget for the batch being built, half for batches queued for the
 * consumer: what a source holds stays about the budget (plus one message).
 */
export function captureLimits(bufferBytes: number): CaptureLimits {
  const half = Math.max(1, Math.floor(bufferBytes / 2));
  return { maxBatchBytes: half, pauseAtBytes: half, resumeBelowBytes: Math.floor(half / 2) };
}

/** Default of `pipeline.captureBufferBytes`: per source. */
export const DEFAULT_CAPTURE_BUFFER_BYTES = 8 * 1024 * 1024;

/** A snapshot chunk's estimated bytes (its rows' values as text). */
export function snapshotBytes(events: readonly { after: Row | null }[]): number {
  let bytes = 0;
  for (const event of events) bytes += estimateRowBytes(event.after);
  return bytes;
}
