import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { ChangeSource, SourceStats } from '../capture';
import { compileRules } from '../conflict';
import { createAudit } from '../audit';
import { configDir, readAllSecrets, readSecret, type LoadedConfig } from '../config';
import { connectorOf } from '../connectors';
import { errorMessage, StateStoreError } from '../errors';
import { createLogger } from '../log';
import { startReconcile } from '../compare';
import { createCompareMetrics, createMetrics, serveMetrics, type ChainVerificationState } from '../metrics';
import { DEFAULT_RETRY, sleep, type RetryPolicy } from '../retry';
import {
  connectStateStore, deadLetterAging, deleteIntents, exceptionAging, InstanceLock, KnexCrosswalk, KnexKeyAllocations, migrateStateStore, openDeadLetters, outboxDepth,
  pruneDoneTasks, pruneJournal, recoverIntents, releaseEarlierLeases, updateLag,
} from '../store';
import { compileMappings, type MappingRegistry } from '../transform';
import { runApplyStage } from './apply-stage';
import { runChainChecks } from './chain-check';
import { EventMarks } from './event-marks';
import { HandOff } from './hand-off';
import { HealthBoard } from './health';
import { PipelineMetrics } from './metrics';
import { mergeSettings, mergeTablesOf, type MergeSettings } from './merge-stage';
import { resolveBatch } from './resolve-stage';
import { capturedSystems, createDedup, createTargets, heartbeatMsOf, logOutages, sourceFactory, systemUrl, writableFieldsOf } from './runtime';
import { logSnapshotProgress, SNAPSHOT_STATE_VALUE, SnapshotProgress } from './snapshot-progress';
import { StallWatch } from './stall-watch';
import { runSourceLoop } from './source-loop';
import type { PipelineOptions, RunningPipeline } from './types';

/** Wires capture → transform → conflict → state store → apply for a configuration, and runs it. */
export async function startPipeline(loaded: LoadedConfig, options: PipelineOptions = {}): Promise<RunningPipeline> {
  const { config } = loaded;
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger(config.log.level);
  const instanceId = options.instanceId ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
  const schema = config.stateStore.schema;
  readAllSecrets(loaded, env);
  const registry = compileMappings(config.mappings);
  const rules = compileRules(config.entities, loaded.version, config.cutovers);
  const merges = mergeSettings(config, registry);
  const store = connectStateStore(readStoreUrl(loaded, env), undefined, logger);
  // Before anything connects: a signing key that is not Ed25519 is a configuration error.
  const audit = config.audit ? createAudit(config.audit, { store, schema, logger, env, baseDir: configDir(loaded) }) : null;
  await migrateStateStore(store, schema);
  const health = new HealthBoard();
  let outages: (() => void) | null = null;
  const logged = logOutages(logger);
  const dedup = await createDedup(loaded, store, env, logger, {
    onOutage: (reason) => {
      health.set('redis', 'degraded', `unreachable (${reason}); deduplicating in the state store, reconnecting`);
      outages?.();
      logged.onOutage(reason);
    },
    onRecovered: (outageMs) => {
      health.set('redis', 'ok');
      logged.onRecovered(outageMs);
    },
  });
  if (config.redis && health.get('redis') === undefined) health.set('redis', 'ok');
  const targets = createTargets(config, env, logger);
  const crosswalk = new KnexCrosswalk(store, schema);
  const captured = capturedSystems(config);
  const sources = new Map<string, ChangeSource | null>();
  const durable = new Map<string, string>();
  let depth = 0;
  const snapshots = new SnapshotProgress();
  const stalls = new StallWatch();
  let chainState: ChainVerificationState | null = null;

  const prom = createMetrics({
    lagSeconds: () => metrics.lagSeconds(),
    retainedBytes: async () => Object.fromEntries(Object.entries(await sourceStats()).map(([s, stats]) => [s, stats?.retainedBytes ?? null])),
    consumerLag: async () => Object.fromEntries(Object.entries(await sourceStats()).map(([s, stats]) => [s, stats?.lagMessages ?? null])),
    outboxDepth: () => outboxDepth(store, schema),
    deadLettersOpen: () => openDeadLetters(store, schema),
    deadLetterAging: () => deadLetterAging(store, schema),
    components: () => health.all(),
    exceptionAging: () => exceptionAging(store, schema),
    updateLag: () => updateLag(store, schema),
    snapshots: () => snapshots.report().map((t) => ({ ...t, state: SNAPSHOT_STATE_VALUE[t.state] })),
    chainVerification: () => chainState,
  });
  outages = () => prom.outages.inc({ dependency: 'redis' });
  const metrics = new PipelineMetrics(prom);

  // One stats call per source per scrape, shared by the gauges that read it.
  let statsMemo: { at: number; value: Promise<Record<string, SourceStats | null>> } | null = null;
  function sourceStats(): Promise<Record<string, SourceStats | null>> {
    if (!statsMemo || Date.now() - statsMemo.at > 1000) {
      const value = Promise.all([...sources].map(async ([s, src]) => [s, src ? await src.stats().catch(() => null) : null] as const)).then(Object.fromEntries);
      statsMemo = { at: Date.now(), value };
    }
    return statsMemo.value;
  }
  // Built before anything runs: a console that cannot start (its token) stops the start cleanly.
  const extension = options.serveMetrics !== false && options.http
    ? options.http({
      loaded, env, logger, store, schema, registry: prom.registry, sources: captured, targets: [...targets.keys()],
      components: () => health.all(),
      stats: () => metrics.snapshot(depth),
      positions: () => Object.fromEntries(durable),
    })
    : null;
  const retry: RetryPolicy = { ...DEFAULT_RETRY, maxAttempts: config.pipeline.maxAttempts };
  const abort = new AbortController();
  const { signal } = abort;
  const lockLost = lostLockSignal(signal);
  const instanceLock = await takeInstanceLock(loaded, env, logger, lockLost.fail);
  // A single instance applies from memory: what an earlier run left in intents or leased is its to take up now.
  const handOffMode = config.pipeline.scaleOut ? 'lease' : 'intent';
  if (handOffMode === 'intent') await takeUpEarlierWork(store, schema, instanceId, logger).catch(async (error) => {
    await instanceLock.release();
    throw error;
  });

  // Resolved tasks go to this process's apply stages in memory, durable as intents or leased rows (see hand-off.ts).
  const handOff = new HandOff(instanceId, config.pipeline.leaseMs, handOffMode);
  const removeIntents = (ids: string[]) => deleteIntents(store, schema, ids);
  const eventMarks = new EventMarks(dedup, logger);
  const handOffCapacity = Math.max(4 * config.pipeline.applyBatch, 4_000);
  const handed = new Map([...targets.keys()].map((target) => [target, handOff.queue(target, handOffCapacity)]));
  const resolveDeps = {
    store, schema, registry, rules, dedup, metrics, logger, crosswalk, handOff, eventMarks,
    journal: config.journal.enabled,
    audit: audit ?? undefined,
    writableFields: writableFieldsOf(registry),
    originOf: (system: string) => config.systems[system]?.apply.origin ?? null,
    merges,
  };
  const loops: Promise<void>[] = [];
  for (const system of captured) {
    metrics.sourceStarted(system, heartbeatMsOf(config, system));
    const planned = (tables: Parameters<SnapshotProgress['planned']>[1]) => {
      snapshots.planned(system, tables);
      logger.info('snapshot planned', { system, tables: tables.map((t) => `${t.table} (~${t.estimatedRows ?? '?'} rows)`) });
    };
    loops.push(runSourceLoop({
      system,
      createSource: sourceFactory(config, system, withMergeTables(registry, merges), store, env, logger, planned),
      handle: (batch, turn) => stalls.around(`resolve:${system}`, async () => {
        const started = performance.now();
        await resolveBatch(batch, resolveDeps, turn);
        metrics.batchResolveTime(system, (performance.now() - started) / 1000);
      }),
      queueDepth: config.pipeline.queueDepth,
      retry,
      logger,
      onDurable: (batch, backlog) => {
        durable.set(system, batch.position);
        snapshots.durable(batch);
        metrics.batchDurable(system, backlog);
      },
      onSourceChange: (source) => sources.set(system, source),
      health,
      onSourceFailure: config.pipeline.onSourceFailure,
    }, signal));
  }
  const allocations = new KnexKeyAllocations(store, schema);
  const existenceOwner = (entity: string) => config.entities[entity]?.owner;
  for (const [target, sink] of targets) {
    loops.push(runApplyStage({
      target, sink, store, schema, registry, crosswalk, dedup, instanceId, retry, metrics, logger, health,
      rulesVersion: rules.version, existenceOwner, allocations, alertWebhook: alertWebhookOf(config, target, env), stalls,
      batchSize: config.pipeline.applyBatch,
      concurrency: config.pipeline.applyConcurrency,
      pollMs: config.pipeline.applyPollMs,
      leaseMs: config.pipeline.leaseMs,
      handed: handed.get(target),
      handOff,
    }, signal));
  }
  loops.push(lockLost.promise);
  if (handOffMode === 'intent') loops.push(handOff.ledger.sweep(removeIntents, INTENT_SWEEP_MS, signal));
  loops.push(housekeeping());
  loops.push(logSnapshotProgress(snapshots, logger, config.log.progressSeconds * 1000, signal));
  loops.push(runChainChecks({ store, schema, everyMs: config.health.chainVerifyEvery, logger, onResult: (state) => (chainState = state) }, signal));
  if (audit) loops.push(audit.run(signal));
  if (config.reconcile) {
    // A scheduled compare that fails is logged and retried on schedule: it never stops the pipeline.
    loops.push(startReconcile({ loaded, store, env, logger, metrics: createCompareMetrics(prom.registry) }, signal));
  }

  let failed: unknown = null;
  const done = Promise.all(loops).then(() => undefined, (error) => {
    failed = error;
    logger.error('pipeline failed', { error: errorMessage(error) });
    abort.abort();
    throw error;
  });
  done.catch(() => {});

  let server: Server | null = null;
  if (options.serveMetrics !== false) {
    server = await serveMetrics(prom.registry, {
      healthy: () => failed === null && !signal.aborted,
      ready: async () => {
        const storeAnswers = await answersWithin(store, READY_STORE_TIMEOUT_MS);
        const started = captured.every((s) => sources.get(s) || health.get(`source:${s}`)?.state === 'failed');
        const stalled = stalls.stalled(config.health.stallSeconds * 1000);
        const detail = [
          health.report(),
          storeAnswers ? 'state store: ok' : `state store: no answer within ${READY_STORE_TIMEOUT_MS / 1000}s`,
          ...stalled.map((s) => `${s.stage}: stalled: work in hand, no progress for ${s.seconds.toFixed(0)}s (health.stallSeconds: ${config.health.stallSeconds})`),
        ].filter(Boolean).join('\n');
        return { ready: storeAnswers && started && health.allOk() && stalled.length === 0, detail };
      },
    }, config.metrics.host, config.metrics.port, extension ?? undefined);
    const { port } = server.address() as { port: number };
    logger.info(`serving /metrics, /healthz and /readyz${extension ? ' and the console at /' : ''}`, { host: config.metrics.host, port });
  }
  logger.info('pipeline started', { instanceId, sources: captured, targets: [...targets.keys()], dedup: dedup.kind, rulesVersion: rules.version.slice(0, 12) });

  async function housekeeping(): Promise<void> {
    let lastPrune = 0;
    while (!signal.aborted) {
      depth = await outboxDepth(store, schema).catch(() => depth);
      if (Date.now() - lastPrune > 60_000) {
        lastPrune = Date.now();
        // Pruning can wait for the next round; a failure is logged, never fatal.
        const prunes: Array<[string, () => Promise<number>]> = [
          ['outbox', () => pruneDoneTasks(store, schema, 3_600_000)],
          ['journal', () => pruneJournal(store, schema, config.journal.retentionHours * 3_600_000)],
          ['dedup', () => dedup.prune?.() ?? Promise.resolve(0)],
        ];
        for (const [what, prune] of prunes) await prune().catch((error) => logger.warn('pruning failed; trying again in a minute', { what, error: errorMessage(error) }));
      }
      await sleep(500, signal);
    }
  }

  async function drain({ timeoutMs = 120_000 } = {}): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let quietRounds = 0; quietRounds < 2; ) {
      if (failed) throw failed;
      const marks = await Promise.all(captured.map(async (system) => [system, await emitMark(config, system, env)] as const));
      for (const [system, mark] of marks) {
        if (mark === null) continue;
        while ((durable.get(system) ?? '') < mark) {
          if (Date.now() > deadline) throw new Error(`drain timed out waiting for ${system} to reach ${mark}`);
          if (failed) throw failed;
          await sleep(50);
        }
      }
      const open = await outboxDepth(store, schema);
      depth = open;
      quietRounds = open === 0 ? quietRounds + 1 : 0;
      if (open > 0) {
        if (Date.now() > deadline) throw new Error(`drain timed out with ${open} outbox tasks open`);
        await sleep(100);
      }
    }
  }

  async function stop(): Promise<void> {
    abort.abort();
    await done.catch(() => {});
    // The apply stages settled what they put back into the outbox as they stopped.
    await handOff.ledger.flush(removeIntents).catch(() => {});
    await eventMarks.settled();
    await instanceLock.release();
    await Promise.all([...targets.values()].map((t) => t.close().catch(() => {})));
    await dedup.close().catch(() => {});
    // Checkpoints signed by the last batches: one more attempt to publish them (the next start sends what is left).
    await audit?.publishPending().catch(() => 0);
    await audit?.close();
    await store.destroy();
    extension?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    logger.info('pipeline stopped', { instanceId });
  }

  return {
    stats: () => metrics.snapshot(depth), snapshotProgress: () => snapshots.report(), drain, stop, done,
    httpAddress: () => addressOf(server, config.metrics.host),
  };
}

/** How often intents whose tasks are all settled are deleted. */
const INTENT_SWEEP_MS = 100;

/**
 * The instance lock (store/instance-lock.ts): exclusive for a single
 * instance, shared for scale-out ones. A single instance started while
 * another runs waits here as a standby.
 */
async function takeInstanceLock(loaded: LoadedConfig, env: NodeJS.ProcessEnv, logger: ReturnType<typeof createLogger>, onLost: (reason: string) => void): Promise<InstanceLock> {
  const { config } = loaded;
  const mode = config.pipeline.scaleOut ? 'scale-out' : 'single';
  let lastWaitLog = 0;
  return InstanceLock.acquire({
    url: readStoreUrl(loaded, env), schema: config.stateStore.schema, mode,
    onWait: (waitedMs) => {
      if (waitedMs - lastWaitLog < 30_000 && lastWaitLog !== 0) return;
      lastWaitLog = Math.max(waitedMs, 1);
      logger.warn(mode === 'single'
        ? 'another tandem instance applies against this state store; waiting as a standby until it stops (pipeline.scaleOut: false)'
        : 'a single tandem instance (pipeline.scaleOut: false) applies against this state store; waiting until it stops', { schema: config.stateStore.schema, waitedSeconds: Math.round(waitedMs / 1000) });
    },
    onSessionLost: (reason) => logger.warn('the instance lock\'s state-store session ended; taking the lock again', { reason }),
    onLost,
  });
}

/** A promise for the pipeline's loops that fails when the instance lock is lost for good, and ends with the pipeline. */
function lostLockSignal(signal: AbortSignal): { promise: Promise<void>; fail: (reason: string) => void } {
  let fail: (reason: string) => void = () => {};
  const promise = new Promise<void>((resolve, reject) => {
    signal.addEventListener('abort', () => resolve(), { once: true });
    fail = (reason) => reject(new StateStoreError(`lost the state store's instance lock: ${reason}`, {}));
  });
  return { promise, fail };
}

/**
 * At the start of a single instance: tasks of intents an earlier run left
 * go to the outbox, and outbox tasks leased by earlier runs become claimable
 * at once (no other instance can be applying them).
 */
async function takeUpEarlierWork(store: ReturnType<typeof connectStateStore>, schema: string, instanceId: string, logger: ReturnType<typeof createLogger>): Promise<void> {
  const recovered = await recoverIntents(store, schema);
  const released = await releaseEarlierLeases(store, schema, instanceId);
  if (recovered + released > 0) logger.info('taking up work an earlier run left', { fromIntents: recovered, leasedBefore: released });
}

/** /readyz answers within this even when the state store does not. */
const READY_STORE_TIMEOUT_MS = 2_000;

async function answersWithin(store: ReturnType<typeof connectStateStore>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([store.raw('select 1').then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A target's alert webhook: `apply.alertWebhook`, or one its type's settings name (a REST system's `rest.alertWebhook`). */
function alertWebhookOf(config: LoadedConfig['config'], system: string, env: NodeJS.ProcessEnv): string | undefined {
  const spec = config.systems[system]!;
  if (spec.apply.alertWebhook) return readSecret(spec.apply.alertWebhook, `systems.${system}.apply.alertWebhook`, env);
  return connectorOf(spec).alertWebhook?.({ config, system, spec, env, url: () => systemUrl(config, system, env) });
}

function readStoreUrl(loaded: LoadedConfig, env: NodeJS.ProcessEnv): string {
  return readSecret(loaded.config.stateStore.url, 'stateStore.url', env);
}

/**
 * Writes a heartbeat into a natively captured source's log and returns its
 * position, for drain(): once that position is durable, everything committed
 * before the drain began has been handled. null for sources without one
 * (Debezium over Kafka, SQL Server CDC): drain then relies on the outbox.
 */
async function emitMark(config: LoadedConfig['config'], system: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  const spec = config.systems[system]!;
  const mark = connectorOf(spec).drainMark;
  if (!spec.capture || !mark) return null;
  return mark({ config, system, spec, env, url: () => systemUrl(config, system, env) });
}

/** `http://host:port` of the metrics server (the port it really bound), or null when it is not served. */
function addressOf(server: Server | null, host: string): string | null {
  const address = server?.address();
  if (!address || typeof address === 'string') return null;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

/** The registry a source is made from: a system's merge tables are captured with its mapped tables. */
function withMergeTables(registry: MappingRegistry, merges: MergeSettings | null): MappingRegistry {
  if (merges === null) return registry;
  return { ...registry, tablesOf: (system) => [...registry.tablesOf(system), ...mergeTablesOf(merges, system)] };
}
