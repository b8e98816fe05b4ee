/** The environment variables that point the integration tests at their servers. */
export const TEST_ENV = {
  pg: 'TANDEM_TEST_PG_URL',
  mysql: 'TANDEM_TEST_MYSQL_URL',
  redis: 'TANDEM_TEST_REDIS_URL',
} as const;

export const HOW_TO_START =
  'Start the test servers with `npm run services:start` and then `source .tandem/services/env`, ' +
  'or just run `npm test`, which starts and stops them itself.';

/**
 * The value of an environment variable the tests need. Throws (so the test
 * FAILS, never skips) when it is unset or empty. Call it at the top level of a
 * `describe` so that a missing server fails every test in it.
 */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    throw new Error(`Environment variable ${name} is not set. ${HOW_TO_START}`);
  }
  return value;
}
