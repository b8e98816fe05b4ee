/** A scrape waits at most this long for a probe that reads a database (the state store, a source). */
export const PROBE_TIMEOUT_MS = 2_000;

/**
 * A scrape-time probe that answers within `timeoutMs` or not at all
 * (undefined: the gauge keeps its last value, and `onMiss` counts it), so
 * `/metrics` still answers while the state store or a source is stalled — the
 * moment it is needed most. One call at a time: while a call hangs, later
 * scrapes wait on it instead of piling more queries onto the stalled database.
 */
export function boundedProbe<T>(name: string, probe: () => Promise<T>, onMiss: (name: string) => void, timeoutMs = PROBE_TIMEOUT_MS): () => Promise<T | undefined> {
  let pending: Promise<T> | null = null;
  return async () => {
    pending ??= probe().finally(() => (pending = null));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
    try {
      const value = await Promise.race([pending.catch(() => undefined), timeout]);
      if (value === undefined) onMiss(name);
      return value;
    } finally {
      clearTimeout(timer);
    }
  };
}
