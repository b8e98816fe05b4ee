import { z } from 'zod';
import { batchDelayDeprecated } from '../batch-delay';

/** Native MySQL/MariaDB capture: the row-based binlog, read as a replica would. */
export const mysqlCapture = z
  .object({
    /** Replica server id tandem registers with; unique among the server's replicas. */
    serverId: z.number().int().min(1).max(4_294_967_295),
    /** Write heartbeats into the binlog (a row in `tandem_heartbeat`) this often; 0 disables. */
    heartbeatMs: z.number().int().min(0).default(10_000),
    snapshot: z.enum(['initial', 'never']).default('initial'),
    /** Events per batch handed to the pipeline, at most (see also `pipeline.captureBufferBytes`). */
    maxBatchEvents: z.number().int().min(1).default(2_000),
    /** Deprecated and ignored: batches form naturally (see batchDelayDeprecated). */
    maxBatchDelayMs: batchDelayDeprecated,
  })
  .strict();
export type MysqlCaptureConfig = z.infer<typeof mysqlCapture>;
