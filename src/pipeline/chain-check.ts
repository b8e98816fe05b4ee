import type { Knex } from 'knex';
import { errorMessage } from '../errors';
import type { Logger } from '../log';
import type { ChainVerificationState } from '../metrics';
import { sleep } from '../retry';
import { verifyConflictChain } from '../store';

export interface ChainCheckDeps {
  store: Knex;
  schema: string;
  everyMs: number;
  logger: Logger;
  onResult: (state: ChainVerificationState) => void;
}

/**
 * Verifies the conflict log's hash chain (every row's hash and link, and the
 * head) at start and then every `everyMs`, for the
 * `tandem_conflict_chain_verified` gauge and its alert. Outside anchors
 * (checkpoint files, an expected head) are for `tandem conflicts verify`: a
 * check inside the database only catches edits that did not recompute the chain.
 * A check that cannot run (state store away) is logged and tried on schedule.
 */
export async function runChainChecks(deps: ChainCheckDeps, signal: AbortSignal): Promise<void> {
  let lastOk: boolean | null = null;
  while (!signal.aborted) {
    try {
      const verdict = await verifyConflictChain(deps.store, deps.schema);
      deps.onResult({ ok: verdict.ok, rows: verdict.rows, atMs: Date.now() });
      if (!verdict.ok) {
        deps.logger.error('conflict log chain does not verify: run tandem conflicts verify', { row: verdict.firstBad?.id, problem: verdict.firstBad?.problem });
      } else if (lastOk === false) {
        deps.logger.info('conflict log chain verifies again', { rows: verdict.rows });
      }
      lastOk = verdict.ok;
    } catch (error) {
      if (signal.aborted) break;
      deps.logger.warn('conflict log chain check could not run; trying again on schedule', { error: errorMessage(error) });
    }
    await sleep(deps.everyMs, signal);
  }
}
