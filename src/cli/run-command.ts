import { loadConfig, readAllSecrets, type LoadedConfig } from '../config';
import { ConfigError, isUnreachable, StateStoreError } from '../errors';
import { createConsole } from '../console';
import { createLogger, type Logger } from '../log';
import { startPipeline } from '../pipeline';
import { exitCodeOf, formatPreflight, preflightReport, runPreflight, type PreflightReport } from '../preflight';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit';
import { connectionError, endpoint } from './reach';
import { analyseRules } from './rules/analysis';

export interface RunOptions {
  /** Start without the preflight (`--skip-check`); the rules check still runs. */
  skipCheck?: boolean;
}

/**
 * `tandem run`: the long-lived service. The ownership rules are checked and
 * the preflight runs before anything is captured: an error in either exits 2.
 * SIGINT/SIGTERM drain in-flight work and exit 0.
 */
export async function runService(configFile: string, options: RunOptions = {}): Promise<number> {
  const loaded = loadConfig(configFile);
  const logger = createLogger(loaded.config.log.level);
  if (loaded.overrides.length > 0) logger.info('settings overridden from the environment', { variables: loaded.overrides });
  if (!rulesAllowStart(loaded)) return EXIT_USAGE;
  if (!options.skipCheck) {
    const refused = await preflightRefusal(loaded, logger);
    if (refused !== null) return refused;
  }
  const pipeline = await startPipeline(loaded, { logger, http: createConsole }).catch((error: unknown) => {
    // Secrets are read at start: say which configuration file asked for them.
    if (error instanceof ConfigError && !error.context.file) throw new ConfigError(error.message, { ...error.context, file: loaded.file }, { cause: error });
    // The first thing started is the state store (its schema is migrated): name it and what pointed at it.
    if (error instanceof StateStoreError && isUnreachable(error)) throw connectionError(endpoint('state store', 'stateStore.url', loaded.config.stateStore.url), error.cause ?? error);
    throw error;
  });
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: string) => {
      logger.info('stopping: finishing in-flight work', { signal });
      pipeline.stop().then(() => resolve(EXIT_OK), () => resolve(EXIT_FAILURE));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  const failed = pipeline.done.then(() => EXIT_OK, async () => {
    await pipeline.stop();
    return EXIT_FAILURE;
  });
  return Promise.race([stopped, failed]);
}

/** `tandem rules check` errors stop the start, printed as that command prints them. */
function rulesAllowStart(loaded: LoadedConfig): boolean {
  const errors = analyseRules(loaded.config).filter((f) => f.severity === 'error');
  if (errors.length === 0) return true;
  for (const f of errors) process.stderr.write(`${loaded.file}:${loaded.lineOf?.(f.path) ?? '?'}: error: ${f.path}: ${f.message}\n`);
  process.stderr.write(`tandem: the ownership rules have ${errors.length} error${errors.length === 1 ? '' : 's'} (see tandem rules check): not starting\n`);
  return false;
}

/**
 * Preflight errors stop the start before anything is captured (the exit code
 * of `tandem check`); warnings are logged and the service starts. null: start.
 */
async function preflightRefusal(loaded: LoadedConfig, logger: Logger): Promise<number | null> {
  readAllSecrets(loaded);
  const result = survivableAtStart(await runPreflight(loaded));
  if (result.errors > 0) {
    process.stderr.write(formatPreflight(result));
    process.stderr.write(`tandem: the preflight found ${result.errors} error${result.errors === 1 ? '' : 's'} (see tandem check): not starting, nothing was captured\n`);
    return exitCodeOf(result);
  }
  for (const f of result.findings) logger.warn(`preflight: ${f.message}`, { system: f.system, table: f.table, column: f.column, check: f.check, fix: f.fix });
  return null;
}

/**
 * Redis being away is an outage tandem runs through (dedup in the state
 * store, reconnecting: see README "Failure modes"), so at the start of
 * `tandem run` it is a warning, not a reason to refuse; `tandem check` still
 * reports it as an error.
 */
function survivableAtStart(result: PreflightReport): PreflightReport {
  const findings = result.findings.map((f) =>
    f.system === 'redis' && f.check === 'connect' && f.severity === 'error'
      ? { ...f, severity: 'warning' as const, message: `${f.message}; starting with deduplication in the state store, reconnecting` }
      : f);
  return preflightReport(findings);
}
