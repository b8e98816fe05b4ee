import { loadConfig, readSecret, type TandemConfig } from '../config';
import { connectorOf } from '../connectors';
import { connectStateStore, loadCheckpoints } from '../store';
import { EXIT_OK } from './exit';
import { snapshotStatusCells, snapshotStatusOf, SNAPSHOT_STATUS_HEADERS } from './snapshot-status';

/** `tandem status`: what the state store, the sources and (when reachable) the running service say. */
export async function printStatus(configFile: string): Promise<number> {
  const { config } = loadConfig(configFile);
  const schema = config.stateStore.schema;
  const store = connectStateStore(readSecret(config.stateStore.url, 'stateStore.url'), 2);
  try {
    const checkpoints = new Map((await loadCheckpoints(store, schema)).map((c) => [c.system, c]));
    const sourceRows = await Promise.all(Object.entries(config.systems).filter(([, s]) => s.capture || s.debezium).map(async ([system, spec]) => {
      const checkpoint = checkpoints.get(system);
      const url = () => readSecret(spec.url, `systems.${system}.url`);
      const { lagSeconds, retainedLog } = await connectorOf(spec).status({ config, system, spec, env: process.env, url, checkpoint });
      return [system, checkpoint?.position ?? '-', lagSeconds === null ? '-' : lagSeconds.toFixed(1), typeof retainedLog === 'number' ? formatBytes(retainedLog) : retainedLog];
    }));
    printTable(['source', 'position', 'lag (s)', 'slot retained WAL'], sourceRows);

    const outbox = await store.withSchema(schema).table('outbox').select('target', 'status').count('* as n').groupBy('target', 'status');
    const byTarget = new Map<string, Record<string, number>>();
    for (const row of outbox as Array<{ target: string; status: string; n: string }>) {
      const counts = byTarget.get(row.target) ?? {};
      counts[row.status] = Number(row.n);
      byTarget.set(row.target, counts);
    }
    process.stdout.write('\n');
    // Tasks carried out leave the outbox (see completeTasks; counts are in the metrics): only
    // superseded ones stay, for an hour.
    // held: the refused write of a record with an open exception (later writes fold into it).
    printTable(['target', 'pending', 'in flight', 'held', 'dead', 'superseded (last hour)'],
      Object.keys(config.systems).map((t) => { const c = byTarget.get(t) ?? {}; return [t, c.pending ?? 0, c.inflight ?? 0, c.held ?? 0, c.dead ?? 0, c.done ?? 0].map(String); }));

    const [conflicts] = await store.withSchema(schema).table('conflicts').count('* as n');
    const [letters] = await store.withSchema(schema).table('dead_letters').where({ status: 'open' }).count('* as n');
    const [exceptions] = await store.withSchema(schema).table('exceptions').where({ status: 'open' }).count('* as n');
    process.stdout.write('\n');
    printTable(['conflicts logged', 'dead letters open', 'exceptions open'], [[String(conflicts?.n ?? 0), String(letters?.n ?? 0), String(exceptions?.n ?? 0)]]);
    process.stdout.write(`\n${await liveEvents(config)}\n`);
    return EXIT_OK;
  } finally {
    await store.destroy();
  }
}

/** Events per stage from the running service's /metrics, when it answers. */
async function liveEvents(config: TandemConfig): Promise<string> {
  const url = `http://${config.metrics.host}:${config.metrics.port}/metrics`;
  try {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(2000) })).text();
    const rows = text.split('\n').filter((l) => l.startsWith('tandem_events_total{')).map((line) => {
      const match = /stage="([^"]*)",system="([^"]*)"\} (\S+)/.exec(line);
      return match ? [match[1]!, match[2]!, match[3]!] : null;
    }).filter((r): r is string[] => r !== null);
    const out: string[] = [];
    printTable(['stage', 'system', 'events'], rows, (s) => out.push(s));
    const snapshots = snapshotStatusOf(text);
    if (snapshots.length > 0) {
      out.push('\ninitial snapshots:\n');
      printTable(SNAPSHOT_STATUS_HEADERS, snapshots.map(snapshotStatusCells), (s) => out.push(s));
    }
    return `live from ${url}:\n${out.join('')}\n${await liveReadiness(config)}`;
  } catch {
    return `service metrics not reachable at ${url} (is tandem run going?)`;
  }
}

/**
 * The running service's /readyz: each source, apply stage and Redis with its
 * state and, when not ok, why (a failed source's reason says what to do).
 */
async function liveReadiness(config: TandemConfig): Promise<string> {
  const url = `http://${config.metrics.host}:${config.metrics.port}/readyz`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return `components (${url}, HTTP ${response.status}):\n${(await response.text()).trimEnd()}`;
  } catch {
    return `readiness not reachable at ${url}`;
  }
}

function printTable(headers: string[], rows: string[][], write: (s: string) => void = (s) => process.stdout.write(s)): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
  write(line(headers));
  write(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) write(line(row));
}

function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
