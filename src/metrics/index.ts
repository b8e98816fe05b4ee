export type { ChainVerificationState, MetricProbes, SnapshotGaugeRow, TandemMetrics } from './registry';
export { createMetrics } from './registry';
export type { HealthProbe } from './server';
export { serveMetrics } from './server';
export type { CompareMetrics, EntityMismatch } from './compare';
export { createCompareMetrics } from './compare';
export { buildInfo } from './build-info';
export type { BuildInfo } from './build-info';
export { labelValue } from './labels';
