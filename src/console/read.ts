import type { Registry } from 'prom-client';
import { errorMessage } from '../errors';

/**
 * Reads for the pages, each bounded in time: during a stall (the state
 * store not answering, a source database hanging) a page still renders in
 * about this long, saying what did not answer instead of hanging with it.
 */
export const READ_TIMEOUT_MS = 2_000;

export type Outcome<T> = { ok: true; value: T } | { ok: false; problem: string };

export async function within<T>(what: string, work: () => Promise<T>, timeoutMs = READ_TIMEOUT_MS): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome<T>>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, problem: `${what}: no answer within ${timeoutMs / 1000} s` }), timeoutMs);
  });
  const attempt = work().then((value): Outcome<T> => ({ ok: true, value }), (error: unknown): Outcome<T> => ({ ok: false, problem: `${what}: ${errorMessage(error)}` }));
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface Series {
  labels: Record<string, string>;
  value: number;
}

/**
 * One metric's series as `/metrics` would print them now (its collect runs),
 * read from the same registry: the console and a scrape agree by
 * construction. Metrics this process does not export (yet) read as [] (e.g.
 * the snapshot gauges before a snapshot ran).
 */
export async function readMetric(registry: Registry, name: string): Promise<Outcome<Series[]>> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return { ok: true, value: [] };
  return within(`metric ${name}`, async () => {
    const { values } = await metric.get();
    return values
      .filter((v) => !('metricName' in v) || v.metricName === undefined || v.metricName === name)
      .map((v) => ({ labels: Object.fromEntries(Object.entries(v.labels).map(([k, l]) => [k, String(l)])), value: v.value }));
  });
}
