import { z } from 'zod';

/** Native SQL Server capture: polls the CDC change tables of the mapped tables. */
export const sqlserverCapture = z
  .object({
    pollIntervalMs: z.number().int().min(10).default(500),
    /** Capture instance per mapped table (`schema.table` → instance); default `<schema>_<table>`. */
    captureInstances: z.record(z.string(), z.string()).default({}),
    snapshot: z.enum(['initial', 'never']).default('initial'),
    maxBatchEvents: z.number().int().min(1).default(2_000),
  })
  .strict();
export type SqlserverCaptureConfig = z.infer<typeof sqlserverCapture>;
