import pg from 'pg';
import { sleep } from '../retry';
import { Rng } from './random';
import { CRM_OPS } from './workload-crm';
import { loadKeys, shareOf, type KeySets, type KeySources } from './workload-keys';
import { ERP_OPS, type OpContext, type WeightedOp } from './workload-ops';
import { Recorder, type WorkloadRecord } from './workload-record';

export type { WorkloadRecord } from './workload-record';

export interface WorkloadOptions {
  erpUrl: string;
  crmUrl: string;
  /** Run this long; absent: until `signal` aborts. */
  seconds?: number;
  /** Edits per second, both systems together. Default 200. */
  rate?: number;
  seed: number;
  signal?: AbortSignal;
  /** State store, to find customers linked in both systems for the same-record name race. */
  state?: { url: string; schema: string };
  /** Concurrent workers per system. Default 2. */
  workersPerSystem?: number;
}

/** Reload key lists this often, so new orders and newly linked customers get edited too. */
const REFRESH_MS = 2_000;

/**
 * Edits both systems at once, as their users would: the ERP moves credit,
 * stock, prices and orders; the CRM edits contacts, names and creates orders;
 * and both trespass on purpose (CRM edits ERP-owned fields, both rename one
 * customer at once). Returns what it did (see WorkloadRecord).
 */
export async function runWorkload(options: WorkloadOptions): Promise<WorkloadRecord> {
  const erp = new pg.Pool({ connectionString: options.erpUrl, max: 6 });
  const crm = new pg.Pool({ connectionString: options.crmUrl, max: 6 });
  const state = options.state ? new pg.Pool({ connectionString: options.state.url, max: 1 }) : undefined;
  const sources: KeySources = { erp, crm, state: state && options.state ? { pool: state, schema: options.state.schema } : undefined };
  const rec = new Recorder();
  const started = Date.now();
  const stop = stopSignal(options);
  try {
    const keys = { current: await loadKeys(sources) };
    const refresher = refreshLoop(sources, keys, stop.signal);
    const workers = options.workersPerSystem ?? 2;
    const perWorkerRate = (options.rate ?? 200) / (2 * workers);
    const rng = new Rng(options.seed);
    const loops = [ERP_OPS, CRM_OPS].flatMap((ops, side) =>
      Array.from({ length: workers }, (_, w) =>
        workerLoop({ ops, rng: rng.fork(`${side}:${w}`), worker: w, workers, rate: perWorkerRate, erp, crm, keys, rec, signal: stop.signal }),
      ),
    );
    await Promise.all(loops);
    await refresher;
  } finally {
    stop.dispose();
    rec.record.elapsedMs = Date.now() - started;
    await Promise.all([erp.end(), crm.end(), state?.end()]);
  }
  return rec.record;
}

interface WorkerOptions {
  ops: WeightedOp[];
  rng: Rng;
  worker: number;
  workers: number;
  rate: number;
  erp: pg.Pool;
  crm: pg.Pool;
  keys: { current: KeySets };
  rec: Recorder;
  signal: AbortSignal;
}

/** Edits at a steady pace (catching up after a slow edit, never bursting beyond one). */
async function workerLoop(w: WorkerOptions): Promise<void> {
  const intervalMs = 1000 / Math.max(w.rate, 0.1);
  let next = Date.now();
  while (!w.signal.aborted) {
    const op = pickWeighted(w.rng, w.ops);
    const ctx = contextOf(w);
    try {
      if (await op.run(ctx)) w.rec.count(op.kind);
    } catch (error) {
      w.rec.failed(op.kind, error);
    }
    next = Math.max(next + intervalMs, Date.now() - intervalMs);
    await sleep(next - Date.now(), w.signal);
  }
}

function contextOf(w: WorkerOptions): OpContext {
  const all = w.keys.current;
  return { erp: w.erp, crm: w.crm, rng: w.rng, all, own: ownShare(all, w.worker, w.workers), rec: w.rec };
}

const shares = new WeakMap<KeySets, Map<number, OpContext['own']>>();

/** This worker's ERP keys, computed once per key reload. */
function ownShare(all: KeySets, worker: number, workers: number): OpContext['own'] {
  const perWorker = shares.get(all) ?? new Map<number, OpContext['own']>();
  shares.set(all, perWorker);
  const cached = perWorker.get(worker);
  if (cached) return cached;
  const name = (k: string) => k;
  const own = {
    customers: shareOf(all.customers, worker, workers, name),
    items: shareOf(all.items, worker, workers, name),
    inventory: shareOf(all.inventory, worker, workers, (k) => k.join('/')),
    erpOrders: shareOf(all.erpOrders, worker, workers, name),
  };
  perWorker.set(worker, own);
  return own;
}

function pickWeighted(rng: Rng, ops: WeightedOp[]): WeightedOp {
  const total = ops.reduce((sum, op) => sum + op.weight, 0);
  let x = rng.next() * total;
  for (const op of ops) {
    x -= op.weight;
    if (x < 0) return op;
  }
  return ops[ops.length - 1] as WeightedOp;
}

async function refreshLoop(sources: KeySources, keys: { current: KeySets }, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await sleep(REFRESH_MS, signal);
    if (signal.aborted) return;
    try {
      keys.current = await loadKeys(sources);
    } catch {
      // keep the previous lists; the next round tries again
    }
  }
}

/** Aborts on the caller's signal or when `seconds` have passed. */
function stopSignal(options: WorkloadOptions): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  if (options.signal?.aborted) abort();
  const timer = options.seconds !== undefined ? setTimeout(abort, options.seconds * 1000) : undefined;
  return {
    signal: controller.signal,
    dispose() {
      abort();
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
    },
  };
}
