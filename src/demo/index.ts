export { runDemo, DEMO_CONFIG, type DemoOptions } from './run';
export { startEmbeddedPostgres, type EmbeddedServer, type EmbeddedOptions } from './embedded';
export { createDemoSchemas, erpSchemaSql, crmSchemaSql, CAPTURED_TABLES } from './schema';
export { seedDemo, type SeedOptions, type SeedCounts } from './seed';
export { seedRows, DEFAULT_SIZES, type SeedSizes } from './seed-rows';
export { runWorkload, type WorkloadOptions, type WorkloadRecord } from './workload';
export { checkConvergence, formatVerdict, type Verdict, type Mismatch, type EntityVerdict, type ConvergenceOptions } from './verdict';
