import type { Knex } from 'knex';
import { loadConfig, readSecret, secretOrigin, type TandemConfig } from '../config';
import { connectorOf } from '../connectors';
import { sleep } from '../retry';
import { connectStateStore, loadCheckpoints } from '../store';
import { EXIT_OK } from './exit';
import { formatTable, processIo, runReporting, type Io } from './io';
import { endpoint, reach } from './reach';
import { snapshotStatusCells, snapshotStatusOf, SNAPSHOT_STATUS_HEADERS, type SnapshotStatusRow } from './snapshot-status';

/**
 * What `tandem status --json` prints. The field names are a stable interface
 * (documented in the README): new fields may be added, none renamed or removed.
 */
export interface StatusReport {
  /** When the report was taken (ISO 8601, UTC). */
  generatedAt: string;
  sources: SourceStatus[];
  targets: TargetStatus[];
  conflictsLogged: number;
  deadLettersOpen: number;
  exceptionsOpen: number;
  service: ServiceStatus;
}

export interface SourceStatus {
  system: string;
  /** The checkpointed source position; null before the first checkpoint. */
  position: string | null;
  /** Seconds between now and the commit time of the last checkpointed change; null when unknown. */
  lagSeconds: number | null;
  /** Log the source keeps for tandem (PostgreSQL: the replication slot's retained WAL), in bytes; null when there is no number. */
  retainedBytes: number | null;
  /** Why there is no number: `n/a` (the type keeps none), `no slot` (not created yet), `error: …`; null when there is one. */
  retainedNote: string | null;
}

export interface TargetStatus {
  system: string;
  pending: number;
  inflight: number;
  held: number;
  dead: number;
  supersededLastHour: number;
}

export interface ServiceStatus {
  metricsUrl: string;
  /** Whether the running service's /metrics answered. */
  reachable: boolean;
  /** `tandem_events_total` per stage and system, from /metrics. */
  events: Array<{ stage: string; system: string; events: number }>;
  /** Initial-snapshot progress per source and table, from the `tandem_snapshot_*` gauges (empty when none ran). */
  snapshots: SnapshotStatusRow[];
  readyzUrl: string;
  /** /readyz's HTTP status (200 ready, 503 not); null when it did not answer. */
  readyzStatus: number | null;
  /** /readyz's lines after the first: one per component (`source:erp: ok`). */
  components: string[];
}

export interface StatusOptions {
  config: string;
  json?: boolean;
  /** Redraw every this many seconds until Ctrl-C. */
  watch?: number;
}

/** `tandem status`: what the state store, the sources and (when reachable) the running service say. */
export async function runStatus(options: StatusOptions, io: Io = processIo, stop?: AbortSignal): Promise<number> {
  return runReporting(io, async () => {
    // Only a watch outlives a moment; a plain status keeps Ctrl-C's default (end at once).
    stop ??= options.watch === undefined ? new AbortController().signal : interruptSignal();
    const { config } = loadConfig(options.config);
    const store = endpoint('state store', 'stateStore.url', config.stateStore.url);
    const knex = connectStateStore(store.url, 2);
    try {
      await reach(store, () => knex.raw('select 1'));
      for (let first = true; first || (options.watch !== undefined && !stop.aborted); first = false) {
        const report = await collectStatus(config, knex);
        if (stop.aborted) break;
        io.out(render(report, options, first));
        if (options.watch !== undefined) await sleep(options.watch * 1000, stop);
      }
      return EXIT_OK;
    } finally {
      await knex.destroy();
    }
  });
}

/** Ctrl-C (or SIGTERM) ends a watch quietly: exit 0, the last screen left in place. */
function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return controller.signal;
}

function render(report: StatusReport, options: StatusOptions, first: boolean): string {
  // Watching JSON gives one document per line (NDJSON), for `jq` and friends.
  if (options.json) return `${JSON.stringify(report, null, options.watch === undefined ? 2 : undefined)}\n`;
  const text = formatStatus(report);
  if (options.watch === undefined) return text;
  // On a terminal each screen replaces the last; into a file or pipe they follow one another.
  const clear = process.stdout.isTTY ? '\x1b[H\x1b[2J' : first ? '' : '\n';
  return `${clear}every ${options.watch} s, ${report.generatedAt} (Ctrl-C ends)\n\n${text}`;
}

export async function collectStatus(config: TandemConfig, knex: Knex): Promise<StatusReport> {
  const schema = config.stateStore.schema;
  const [sources, targets, counts, service] = await Promise.all([
    sourceStatuses(config, knex), targetStatuses(config, knex), logCounts(knex, schema), serviceStatus(config),
  ]);
  return { generatedAt: new Date().toISOString(), sources, targets, ...counts, service };
}

async function sourceStatuses(config: TandemConfig, knex: Knex): Promise<SourceStatus[]> {
  const checkpoints = new Map((await loadCheckpoints(knex, config.stateStore.schema)).map((c) => [c.system, c]));
  const capturing = Object.entries(config.systems).filter(([, s]) => s.capture || s.debezium);
  return Promise.all(capturing.map(async ([system, spec]) => {
    const checkpoint = checkpoints.get(system);
    const url = () => readSecret(spec.url, `systems.${system}.url`);
    const { lagSeconds, retainedLog } = await connectorOf(spec).status({ config, system, spec, env: process.env, url, checkpoint });
    const retainedNote = typeof retainedLog === 'number' ? null : unreachableNamed(retainedLog, system, secretOrigin(spec.url));
    return { system, position: checkpoint?.position ?? null, lagSeconds, retainedBytes: typeof retainedLog === 'number' ? retainedLog : null, retainedNote };
  }));
}

/** A source that could not be asked says which setting and variable point at it. */
function unreachableNamed(note: string, system: string, origin: string): string {
  return /^error: .*(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|EAI_AGAIN|timeout)/i.test(note) ? `${note} (systems.${system}.url from ${origin})` : note;
}

async function targetStatuses(config: TandemConfig, knex: Knex): Promise<TargetStatus[]> {
  const schema = config.stateStore.schema;
  const rows = await knex.withSchema(schema).table('outbox').select('target', 'status').count('* as n').groupBy('target', 'status');
  // Tasks a single instance is applying from memory (apply intents) are in flight too.
  const inIntents = await knex.withSchema(schema).table('open_tasks').where('held_in', 'intent').select('target', knex.raw(`'inflight' AS status`)).count('* as n').groupBy('target');
  const byTarget = new Map<string, Record<string, number>>();
  for (const row of [...rows, ...inIntents] as Array<{ target: string; status: string; n: string }>) {
    const counts = byTarget.get(row.target) ?? {};
    byTarget.set(row.target, { ...counts, [row.status]: (counts[row.status] ?? 0) + Number(row.n) });
  }
  // Tasks carried out leave the outbox (see completeTasks; counts are in the metrics): only
  // superseded ones stay, for an hour. held: the refused write of a record with an open
  // exception (later writes fold into it).
  return Object.keys(config.systems).map((system) => {
    const c = byTarget.get(system) ?? {};
    return { system, pending: c.pending ?? 0, inflight: c.inflight ?? 0, held: c.held ?? 0, dead: c.dead ?? 0, supersededLastHour: c.done ?? 0 };
  });
}

async function logCounts(knex: Knex, schema: string): Promise<Pick<StatusReport, 'conflictsLogged' | 'deadLettersOpen' | 'exceptionsOpen'>> {
  const count = async (table: string, where: Record<string, string> = {}) => Number((await knex.withSchema(schema).table(table).where(where).count('* as n'))[0]?.n ?? 0);
  const [conflictsLogged, deadLettersOpen, exceptionsOpen] = await Promise.all([
    count('conflicts'), count('dead_letters', { status: 'open' }), count('exceptions', { status: 'open' }),
  ]);
  return { conflictsLogged, deadLettersOpen, exceptionsOpen };
}

/** Events per stage and readiness from the running service, when it answers. */
async function serviceStatus(config: TandemConfig): Promise<ServiceStatus> {
  const base = `http://${config.metrics.host}:${config.metrics.port}`;
  const status: ServiceStatus = { metricsUrl: `${base}/metrics`, reachable: false, events: [], snapshots: [], readyzUrl: `${base}/readyz`, readyzStatus: null, components: [] };
  try {
    const text = await (await fetch(status.metricsUrl, { signal: AbortSignal.timeout(2000) })).text();
    status.reachable = true;
    for (const line of text.split('\n')) {
      const match = /^tandem_events_total\{stage="([^"]*)",system="([^"]*)"\} (\S+)/.exec(line);
      if (match) status.events.push({ stage: match[1]!, system: match[2]!, events: Number(match[3]) });
    }
    status.snapshots = snapshotStatusOf(text);
  } catch {
    return status;
  }
  try {
    const response = await fetch(status.readyzUrl, { signal: AbortSignal.timeout(2000) });
    status.readyzStatus = response.status;
    status.components = (await response.text()).trimEnd().split('\n').slice(1).filter(Boolean);
  } catch {
    // /metrics answered and /readyz did not: readyzStatus stays null.
  }
  return status;
}

/** The report as the tables `tandem status` prints. */
export function formatStatus(report: StatusReport): string {
  const sources = formatTable(['source', 'position', 'lag (s)', 'slot retained WAL'], report.sources.map((s) => [
    s.system, s.position ?? '-', s.lagSeconds === null ? '-' : s.lagSeconds.toFixed(1), s.retainedBytes === null ? s.retainedNote ?? '-' : formatBytes(s.retainedBytes),
  ]));
  const targets = formatTable(['target', 'pending', 'in flight', 'held', 'dead', 'superseded (last hour)'],
    report.targets.map((t) => [t.system, t.pending, t.inflight, t.held, t.dead, t.supersededLastHour].map(String)));
  const counts = formatTable(['conflicts logged', 'dead letters open', 'exceptions open'],
    [[report.conflictsLogged, report.deadLettersOpen, report.exceptionsOpen].map(String)]);
  return [sources, targets, counts, `${formatService(report.service)}\n`].join('\n');
}

function formatService(service: ServiceStatus): string {
  if (!service.reachable) return `service metrics not reachable at ${service.metricsUrl} (is tandem run going?)\n`;
  const events = formatTable(['stage', 'system', 'events'], service.events.map((e) => [e.stage, e.system, String(e.events)]))
    + (service.snapshots.length > 0 ? `\ninitial snapshots:\n${formatTable(SNAPSHOT_STATUS_HEADERS, service.snapshots.map(snapshotStatusCells))}` : '');
  const readiness = service.readyzStatus === null
    ? `readiness not reachable at ${service.readyzUrl}\n`
    : `components (${service.readyzUrl}, HTTP ${service.readyzStatus}):\n${service.components.map((c) => `${c}\n`).join('')}`;
  return `live from ${service.metricsUrl}:\n${events}\n${readiness}`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
