export type { MetricProbes, TandemMetrics } from './registry';
export { createMetrics } from './registry';
export type { HealthProbe, HttpFallback } from './server';
export { serveMetrics } from './server';
export type { CompareMetrics, EntityMismatch } from './compare';
export { createCompareMetrics } from './compare';
