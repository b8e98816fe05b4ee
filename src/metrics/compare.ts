import { Gauge, type Registry } from 'prom-client';

/** What one scheduled compare found for one entity (see src/compare). */
export interface EntityMismatch {
  entity: string;
  /** Records (or rows) compared. */
  records: number;
  /** Records with at least one difference. */
  recordsMismatched: number;
  /** Records whose field differs, per field. */
  fieldsMismatched: Record<string, number>;
  durationMs: number;
}

/** Gauges of the scheduled compare (`reconcile` in the configuration), set after each completed run. */
export interface CompareMetrics {
  completed(entities: readonly EntityMismatch[], finishedAt: Date, durationMs: number): void;
}

export function createCompareMetrics(registry: Registry): CompareMetrics {
  const records = new Gauge({ name: 'tandem_compare_records', help: 'Records compared by the last scheduled compare, per entity', labelNames: ['entity'], registers: [registry] });
  const recordsMismatched = new Gauge({
    name: 'tandem_compare_records_mismatched', help: 'Records with at least one difference in the last scheduled compare, per entity', labelNames: ['entity'], registers: [registry],
  });
  const fieldsMismatched = new Gauge({
    name: 'tandem_compare_fields_mismatched', help: 'Records whose field differs between systems in the last scheduled compare, per entity and field', labelNames: ['entity', 'field'], registers: [registry],
  });
  const ratio = new Gauge({
    name: 'tandem_compare_mismatch_ratio',
    help: 'Share of an entity\'s records that differ (field="*": any difference; else that field, e.g. sales orders whose status differs), last scheduled compare',
    labelNames: ['entity', 'field'], registers: [registry],
  });
  const lastCompleted = new Gauge({ name: 'tandem_compare_last_completed_timestamp_seconds', help: 'Unix time the last scheduled compare completed', registers: [registry] });
  const duration = new Gauge({ name: 'tandem_compare_duration_seconds', help: 'Duration of the last scheduled compare (entity="*": the whole run)', labelNames: ['entity'], registers: [registry] });
  /** Fields that differed in an earlier run: set to 0 when they agree again, so a series never sticks at its old value. */
  const seen = new Map<string, Set<string>>();
  return {
    completed(entities, finishedAt, durationMs) {
      for (const e of entities) {
        const share = (n: number) => (e.records === 0 ? 0 : n / e.records);
        records.set({ entity: e.entity }, e.records);
        recordsMismatched.set({ entity: e.entity }, e.recordsMismatched);
        ratio.set({ entity: e.entity, field: '*' }, share(e.recordsMismatched));
        const fields = seen.get(e.entity) ?? new Set<string>();
        seen.set(e.entity, fields);
        for (const field of Object.keys(e.fieldsMismatched)) fields.add(field);
        for (const field of fields) {
          const n = e.fieldsMismatched[field] ?? 0;
          fieldsMismatched.set({ entity: e.entity, field }, n);
          ratio.set({ entity: e.entity, field }, share(n));
        }
        duration.set({ entity: e.entity }, e.durationMs / 1000);
      }
      duration.set({ entity: '*' }, durationMs / 1000);
      lastCompleted.set(finishedAt.getTime() / 1000);
    },
  };
}
