import type { ApplyTask, BatchResult } from '../../src/apply';
import type { ApplyOutcome } from '../../src/apply/task';
import { TandemError } from '../../src/errors';

/** A result as compared between a batch and one-by-one application. */
export type Settled = { outcome: ApplyOutcome } | { error: { type: string; retriable: boolean | undefined; message: string } };

export function settledOf(result: BatchResult): Settled {
  return result.outcome !== undefined ? { outcome: result.outcome } : { error: describeError(result.error) };
}

export function describeError(error: unknown): { type: string; retriable: boolean | undefined; message: string } {
  return {
    type: (error as Error)?.constructor?.name ?? typeof error,
    retriable: error instanceof TandemError ? error.retriable : undefined,
    message: error instanceof Error ? error.message : String(error),
  };
}

/** `apply` on each task in turn: the reference a batch must equal. */
export async function applyOneByOne(apply: (task: ApplyTask) => Promise<ApplyOutcome>, tasks: ApplyTask[]): Promise<Settled[]> {
  const out: Settled[] = [];
  for (const task of tasks) {
    try {
      out.push({ outcome: await apply(task) });
    } catch (error) {
      out.push({ error: describeError(error) });
    }
  }
  return out;
}

/** Counts the statements a knex pool sends (`SqlTarget` keeps its pool in `db`). */
export function countStatements(target: object): { statements: string[]; stop(): void } {
  const db = (target as { db: { on(e: string, f: (q: { sql: string }) => void): void; off(e: string, f: (q: { sql: string }) => void): void } }).db;
  const statements: string[] = [];
  const listener = (q: { sql: string }) => statements.push(q.sql);
  db.on('query', listener);
  return { statements, stop: () => db.off('query', listener) };
}
