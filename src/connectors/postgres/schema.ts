import { z } from 'zod';
import { identifier } from '../../config/primitives';
import { batchDelayDeprecated } from '../batch-delay';

/** `systems.<name>.capture` of a PostgreSQL system: logical replication with pgoutput. */
export const postgresCapture = z
  .object({
    slot: identifier,
    publication: identifier,
    /** Interval of heartbeat messages written to the source (pg_logical_emit_message). 0 disables. */
    heartbeatMs: z.number().int().min(0).default(10_000),
    /** Status updates to the server at least this often (wal_sender_timeout is 60 s by default). */
    statusIntervalMs: z.number().int().min(100).default(5_000),
    /** Take an initial snapshot of mapped tables the slot has not seen. */
    snapshot: z.enum(['initial', 'never']).default('initial'),
    /** Events per batch handed to the pipeline, at most (see also `pipeline.captureBufferBytes`). */
    maxBatchEvents: z.number().int().min(1).default(2_000),
    /** Deprecated and ignored: batches form naturally (see batchDelayDeprecated). */
    maxBatchDelayMs: batchDelayDeprecated,
  })
  .strict();
export type PostgresCaptureConfig = z.infer<typeof postgresCapture>;
