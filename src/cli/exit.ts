import { ConfigError, errorMessage, UsageError } from '../errors';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Prints an error for a person and returns the exit code it means. */
export function reportError(error: unknown): number {
  if (error instanceof ConfigError) {
    const { file, path } = error.context;
    const where = [file, path].filter(Boolean).join(': ');
    process.stderr.write(`tandem: configuration error${where ? ` in ${where}` : ''}: ${error.message}\n`);
    return EXIT_USAGE;
  }
  process.stderr.write(`tandem: ${errorMessage(error)}\n`);
  return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}
