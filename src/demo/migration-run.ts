import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import { parseConfig, type LoadedConfig } from '../config';
import { UsageError } from '../errors';
import { createLogger, type Logger } from '../log';
import { startPipeline, type RunningPipeline } from '../pipeline';
import { connectStateStore } from '../store';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded';
import { createMigrationSchemas, MIGRATION_CONFIG, migrationConfigText, seedMigration, type MigrationNames, type MigrationSystems } from './migration-schema';
import { checkMigration, formatMigrationVerdict, type MigrationVerdict } from './migration-verdict';
import { runMigrationWorkload, type MigrationWorkloadRecord } from './migration-workload';
import { SaasServer } from './rest-server';
import { statusLine, watch } from './status-line';

/**
 * `tandem demo --scenario migration`: the old ERP on MariaDB (binlog
 * capture), the new cloud ERP behind a REST API (a target with ids of its
 * own), the CRM on PostgreSQL; seeded, edited on all three at once through
 * the live pipeline, wave 1 of the fields moved from the old ERP to the new
 * one a few seconds into the run, then drained and checked.
 */
export interface MigrationDemoOptions {
  /** Workload duration in seconds. Default 20. */
  seconds?: number;
  /** The cutover, this many seconds after the workload starts. Default: 40 % of the run. */
  cutoverAfterSeconds?: number;
  /** A MariaDB server (admin URL) with the binlog on; default TANDEM_DEMO_MYSQL_URL. The demo makes a database of its own on it. */
  mysqlUrl?: string;
  keep?: boolean;
  seed?: number;
  rate?: number;
  print?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export const MYSQL_URL_ENV = 'TANDEM_DEMO_MYSQL_URL';
const SNAPSHOT_TIMEOUT_MS = 5 * 60_000;
const DRAIN_TIMEOUT_MS = 5 * 60_000;
/** The cutover while the initial snapshot is read: nowhere near. */
const NOT_YET = new Date('2999-01-01T00:00:00Z');

export async function runMigrationDemo(options: MigrationDemoOptions = {}): Promise<number> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const env = options.env ?? process.env;
  let cleanup: Array<() => Promise<unknown>> = [];
  try {
    const mysqlUrl = options.mysqlUrl ?? env[MYSQL_URL_ENV];
    if (!mysqlUrl) throw new UsageError(`the migration scenario needs a MariaDB server with its binlog on: pass --mysql-url <url> or set ${MYSQL_URL_ENV} (e.g. mysql://user:password@127.0.0.1:3306/)`);
    const names = migrationNames();
    print(`checking MariaDB at ${where(mysqlUrl)}…`);
    const erpOldUrl = await createMariaDbDatabase(mysqlUrl, names.erpOldDatabase);
    if (!options.keep) cleanup.push(() => dropMariaDbDatabase(mysqlUrl, names.erpOldDatabase));
    print('starting embedded PostgreSQL (crm, tandem databases)…');
    const pgServer: EmbeddedServer = await startEmbeddedPostgres({ keepData: options.keep ?? false });
    cleanup = [() => pgServer.stop(), ...cleanup];
    const rest = await SaasServer.start();
    cleanup = [() => rest.close(), ...cleanup];
    print(`new ERP's REST API on ${rest.url}; old ERP in MariaDB database ${names.erpOldDatabase}`);
    const systems: MigrationSystems = { erpOldUrl, erpOldDatabase: names.erpOldDatabase, crmUrl: pgServer.urls.crm, stateUrl: pgServer.urls.tandem, erpNewUrl: rest.url };
    const logFile = resolve(dirname(MIGRATION_CONFIG), '..', '.tandem', 'demo-migration-pipeline.log');
    rmSync(logFile, { force: true });
    print(`pipeline logs: ${logFile}`);
    const outcome = await runMigrationScenario(systems, names, {
      seconds: options.seconds ?? 20, cutoverAfterSeconds: options.cutoverAfterSeconds, seed: options.seed ?? 42, rate: options.rate,
      print, logger: createLogger('info', { file: logFile }), env,
    });
    if (options.keep) print(`kept: MariaDB database ${names.erpOldDatabase} on ${where(mysqlUrl)}; PostgreSQL data under .tandem/demo (stopped)`);
    return outcome.verdict.ok ? 0 : 1;
  } catch (error) {
    print(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    for (const step of cleanup) await step().catch(() => undefined);
  }
}

export interface ScenarioOptions {
  seconds: number;
  cutoverAfterSeconds?: number;
  seed: number;
  rate?: number;
  merges?: number;
  print: (line: string) => void;
  logger: Logger;
  env: NodeJS.ProcessEnv;
}

export interface ScenarioOutcome {
  verdict: MigrationVerdict;
  workload: MigrationWorkloadRecord;
  cutoverAt: Date;
  loaded: LoadedConfig;
}

/**
 * The scenario on systems made ready by the caller (the demo, or a test on
 * the shared test servers): schemas, seed, the initial snapshot, then the
 * pipeline again with the cutover set a few seconds into the workload, the
 * workload, drain and verdict.
 */
export async function runMigrationScenario(systems: MigrationSystems, names: MigrationNames, options: ScenarioOptions): Promise<ScenarioOutcome> {
  const { print } = options;
  await createMigrationSchemas(systems);
  const counts = await seedMigration(systems, options.seed);
  print(`seeded (seed ${options.seed}): ${Object.entries(counts).map(([t, n]) => `${t} ${n}`).join(', ')}`);
  const env = { ...options.env, TANDEM_STATE_URL: systems.stateUrl, ERP_OLD_DATABASE_URL: systems.erpOldUrl, ERP_NEW_API_URL: systems.erpNewUrl, CRM_DATABASE_URL: systems.crmUrl };
  const configure = (cutoverAt: Date) => parseConfig(migrationConfigText(names, cutoverAt), MIGRATION_CONFIG, env);

  // The initial snapshot first, with the cutover far away: the cutover is meant to land mid-workload.
  let pipeline: RunningPipeline = await startPipeline(configure(NOT_YET), { logger: options.logger, env });
  try {
    print('pipeline started; reading the initial snapshot into the CRM and the new ERP…');
    await pipeline.drain({ timeoutMs: SNAPSHOT_TIMEOUT_MS });
    print(`initial snapshot drained: ${statusLine(pipeline.stats(), null, 1)}`);
  } finally {
    await pipeline.stop();
  }

  const cutoverAfter = options.cutoverAfterSeconds ?? Math.max(2, options.seconds * 0.4);
  const cutoverAt = new Date(Date.now() + cutoverAfter * 1000);
  const loaded = configure(cutoverAt);
  pipeline = await startPipeline(loaded, { logger: options.logger, env });
  try {
    print(`pipeline restarted with the cutover: wave 1 (credit_limit, payment_terms) moves from erp_old to erp_new at ${cutoverAt.toISOString()} (in ${cutoverAfter.toFixed(1)} s)`);
    const failed = new AbortController();
    pipeline.done.catch(() => failed.abort());
    const workload = await watch(pipeline, print, () => runMigrationWorkload({
      systems, seconds: options.seconds, rate: options.rate, seed: options.seed, signal: failed.signal, stateSchema: names.stateSchema, merges: options.merges,
    }), cutoverAnnouncement(cutoverAt));
    print(workloadSummary(workload));
    if (failed.signal.aborted) await pipeline.done;
    print('workload stopped; draining the pipeline…');
    await pipeline.drain({ timeoutMs: DRAIN_TIMEOUT_MS });
    const store = connectStateStore(systems.stateUrl, 2);
    try {
      const verdict = await checkMigration({ loaded, store, env, erpNewUrl: systems.erpNewUrl, cutoverAt, workload });
      print(formatMigrationVerdict(verdict));
      return { verdict, workload, cutoverAt, loaded };
    } finally {
      await store.destroy();
    }
  } finally {
    await pipeline.stop();
  }
}

/** Names unique to this run: the shared MariaDB server may hold other runs' databases and replicas. */
export function migrationNames(tag = randomBytes(4).toString('hex')): MigrationNames {
  const serverId = 1_000_000 + (parseInt(tag.slice(0, 6), 16) % 1_000_000_000);
  return {
    erpOldDatabase: `tandem_erp_old_${tag}`,
    serverId,
    echoServerId: serverId + 1,
    crmSlot: `tandem_crm_${tag}`,
    stateSchema: 'tandem',
    origin: `tandem_${tag}`,
  };
}

/** The line saying the cutover is in force, once, at the first status line after it. */
function cutoverAnnouncement(cutoverAt: Date): () => string | null {
  let announced = false;
  return () => {
    if (announced || Date.now() < cutoverAt.getTime()) return null;
    announced = true;
    return `— cutover wave1 in force (${cutoverAt.toISOString()}): erp_new owns credit_limit and payment_terms; erp_old edits of them are rejected and corrected`;
  };
}

function workloadSummary(w: MigrationWorkloadRecord): string {
  const kinds = Object.entries(w.counts).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${n}`);
  const merges = w.merges.map((m) => `${m.loser}→${m.survivor}${m.crmOrderForLoser ? ' (CRM booked an order on the duplicate)' : ''}`).join(', ');
  const errors = w.errors > 0 ? `\n  workload errors: ${w.errors} (${w.errorSamples.slice(0, 3).join('; ')})` : '';
  return `workload: ${w.operations} edits in ${(w.elapsedMs / 1000).toFixed(1)} s\n  ${kinds.join(', ')}\n  merges in erp_old: ${merges || 'none'}${errors}`;
}

/** host:port of a URL, never its credentials. */
function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '3306'}`;
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * Creates the old ERP's database on the MariaDB server, after checking the
 * server can be reached and writes a row-based binlog (what native capture reads).
 */
async function createMariaDbDatabase(adminUrl: string, database: string): Promise<string> {
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection({ uri: adminUrl, connectTimeout: 5_000 });
  } catch (error) {
    throw new UsageError(`cannot reach MariaDB at ${where(adminUrl)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT @@log_bin AS log_bin, @@binlog_format AS format');
    const row: Record<string, unknown> = rows[0] ?? {};
    if (Number(row.log_bin) !== 1 || String(row.format).toUpperCase() !== 'ROW') {
      throw new UsageError(`MariaDB at ${where(adminUrl)} must write a row-based binlog for native capture (log_bin=${String(row.log_bin)}, binlog_format=${String(row.format)}): start it with --log-bin --binlog-format=ROW`);
    }
    await conn.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  } finally {
    await conn.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

async function dropMariaDbDatabase(adminUrl: string, database: string): Promise<void> {
  const conn = await mysql.createConnection({ uri: adminUrl, connectTimeout: 5_000 });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
  } finally {
    await conn.end();
  }
}
