import { defineConfig } from 'vitest/config';

// Integration tests are named after the servers they need; everything else
// under test/ is a unit test. `npm test` runs both (see scripts/test.mjs);
// `npm run test:unit` runs only the unit project and needs no servers.
const integration = ['test/**/*.{pg,mysql,redis,kafka,e2e,mssql}.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    // 2 cores and shared servers: at most two test files at a time.
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 1,
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: integration },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: integration,
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
