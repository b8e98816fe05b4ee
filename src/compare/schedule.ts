/**
 * The scheduled compare of `tandem run` (`reconcile` in the configuration):
 * the same compare as `tandem compare`, every `reconcile.every`, its result
 * exported as metrics (mismatched records and fields, mismatch ratio per
 * entity, when the last run completed and how long it took).
 */
import type { Knex } from 'knex';
import type { LoadedConfig } from '../config';
import { errorMessage } from '../errors';
import type { Logger } from '../log';
import type { CompareMetrics } from '../metrics';
import { sleep } from '../retry';
import { runCompare } from './compare';

export interface ReconcileDeps {
  loaded: LoadedConfig;
  store: Knex;
  env: NodeJS.ProcessEnv;
  metrics: CompareMetrics;
  logger: Logger;
}

/** Runs compares until `signal` aborts; a failed run is logged and the next one comes on schedule. */
export async function startReconcile(deps: ReconcileDeps, signal: AbortSignal): Promise<void> {
  const settings = deps.loaded.config.reconcile;
  if (!settings) return;
  while (!signal.aborted) {
    await sleep(settings.every, signal);
    if (signal.aborted) return;
    try {
      const report = await runCompare({
        loaded: deps.loaded, store: deps.store, env: deps.env, entities: settings.entities, repair: settings.repair, limit: 0,
      });
      deps.metrics.completed(report.entities, new Date(), report.durationMs);
      const mismatched = Object.fromEntries(report.entities.map((e) => [e.entity, e.recordsMismatched]));
      deps.logger.log(report.agreed ? 'info' : 'warn', report.agreed ? 'scheduled compare: systems agree' : 'scheduled compare: systems differ', {
        runId: report.runId, durationMs: report.durationMs, mismatched, repairs: report.repairs ? report.repairs.tasks : undefined,
      });
    } catch (error) {
      deps.logger.error('scheduled compare failed', { error: errorMessage(error) });
    }
  }
}
