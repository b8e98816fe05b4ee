import { HOW_TO_START, TEST_ENV } from './env';

// Global setup of the integration project. It only warns: each integration
// test calls requireEnv() and fails on its own with the same hint.
export default function setup(): void {
  const missing = Object.values(TEST_ENV).filter((name) => !process.env[name]);
  if (missing.length > 0) {
    console.warn(`\n[tandem tests] ${missing.join(', ')} not set: integration tests will fail. ${HOW_TO_START}\n`);
  }
}
