import { z } from 'zod';

/** Native MySQL/MariaDB capture: the row-based binlog, read as a replica would. */
export const mysqlCapture = z
  .object({
    /** Replica server id tandem registers with; unique among the server's replicas. */
    serverId: z.number().int().min(1).max(4_294_967_295),
    /** Write heartbeats into the binlog (a row in `tandem_heartbeat`) this often; 0 disables. */
    heartbeatMs: z.number().int().min(0).default(10_000),
    snapshot: z.enum(['initial', 'never']).default('initial'),
    maxBatchEvents: z.number().int().min(1).default(2_000),
    maxBatchDelayMs: z.number().int().min(0).default(50),
  })
  .strict();
export type MysqlCaptureConfig = z.infer<typeof mysqlCapture>;
