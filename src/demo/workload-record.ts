import type { Value } from '../capture';

/**
 * What the workload did, for the status output and for the verdict: counts
 * per kind of edit, and for every ERP-owned column it wrote in the ERP the
 * last value written, which the verdict checks still stands after the
 * pipeline has resolved every conflict.
 */
export interface WorkloadRecord {
  /** Edits done, per kind (`erp.credit_limit`, `crm.credit_limit_conflict`, …). */
  counts: Record<string, number>;
  operations: number;
  errors: number;
  /** The first few error messages, for the report. */
  errorSamples: string[];
  /** ERP table → local key text (crosswalk form) → column → last value written, as capture decodes it. */
  lastErpWrites: Record<string, Record<string, Record<string, Value>>>;
  elapsedMs: number;
}

const MAX_ERROR_SAMPLES = 10;

export class Recorder {
  readonly record: WorkloadRecord = { counts: {}, operations: 0, errors: 0, errorSamples: [], lastErpWrites: {}, elapsedMs: 0 };

  count(kind: string): void {
    this.record.counts[kind] = (this.record.counts[kind] ?? 0) + 1;
    this.record.operations += 1;
  }

  /** Call only after the write committed: the value is then what the ERP holds, until someone else writes. */
  erpWrote(table: string, localKey: string, column: string, value: Value): void {
    const rows = (this.record.lastErpWrites[table] ??= {});
    const row = (rows[localKey] ??= {});
    row[column] = value;
  }

  failed(kind: string, error: unknown): void {
    this.record.errors += 1;
    if (this.record.errorSamples.length < MAX_ERROR_SAMPLES) {
      this.record.errorSamples.push(`${kind}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
