import { z } from 'zod';
import type { LogFn } from '../capture';

/**
 * `capture.maxBatchDelayMs` of the native PostgreSQL and MySQL sources,
 * deprecated: it was how long a partly filled batch waited for more
 * transactions. Batches now form naturally (a committed transaction goes on
 * at once when the resolve stage is waiting, and transactions accumulate
 * while it is busy), so a fixed wait only added latency. Still accepted, so
 * configurations that set it keep loading; ignored, with a warning at start.
 */
export const batchDelayDeprecated = z.number().int().min(0).optional();

export function warnIfBatchDelaySet(capture: { maxBatchDelayMs?: number | undefined }, system: string, log: LogFn): void {
  if (capture.maxBatchDelayMs === undefined) return;
  log('warn', `systems.${system}.capture.maxBatchDelayMs is deprecated and ignored: batches form naturally, a transaction goes on as soon as the resolve stage is free (remove the setting)`);
}
