import { loadConfig } from '../config';
import { ConfigError } from '../errors';
import { createLogger } from '../log';
import { startPipeline } from '../pipeline';
import { EXIT_FAILURE, EXIT_OK } from './exit';

/** `tandem run`: the long-lived service. SIGINT/SIGTERM drain in-flight work and exit 0. */
export async function runService(configFile: string): Promise<number> {
  const loaded = loadConfig(configFile);
  const logger = createLogger(loaded.config.log.level);
  if (loaded.overrides.length > 0) logger.info('settings overridden from the environment', { variables: loaded.overrides });
  const pipeline = await startPipeline(loaded, { logger }).catch((error: unknown) => {
    // Secrets are read at start: say which configuration file asked for them.
    if (error instanceof ConfigError && !error.context.file) throw new ConfigError(error.message, { ...error.context, file: loaded.file }, { cause: error });
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
