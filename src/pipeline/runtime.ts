import type { Knex } from 'knex';
import { FailoverDedup, RedisDedup, StoreDedup, type ApplyTarget, type Dedup, type DedupOutageHooks } from '../apply';
import type { ChangeSource, LogFn, SnapshotPlanned } from '../capture';
import { readSecret, type LoadedConfig, type TandemConfig } from '../config';
import { connectorOf, debeziumSource } from '../connectors';
import { ConfigError } from '../errors';
import type { Logger } from '../log';
import type { MappingRegistry } from '../transform';

// Kafka's connection settings belong to the Debezium transport; re-exported for the pipeline's users.
export { kafkaConnection } from '../connectors';

/** Canonical fields each system maps (and can be written), per entity. */
export function writableFieldsOf(registry: MappingRegistry): (entity: string) => ReadonlyMap<string, ReadonlySet<string>> {
  const cache = new Map<string, Map<string, Set<string>>>();
  return (entity) => {
    let bySystem = cache.get(entity);
    if (!bySystem) {
      bySystem = new Map();
      for (const mapping of registry.forEntity(entity)) {
        bySystem.set(mapping.system, new Set(mapping.fields.filter((f) => !f.readOnly).map((f) => f.field)));
      }
      cache.set(entity, bySystem);
    }
    return bySystem;
  };
}

export function systemUrl(config: TandemConfig, system: string, env: NodeJS.ProcessEnv): string {
  return readSecret(config.systems[system]!.url, `systems.${system}.url`, env);
}

/** How long `tandem run` waits for Redis at start before going on with dedup in the state store. */
const REDIS_START_WAIT_MS = 5_000;

/**
 * Redis dedup that falls back to the state store while Redis is away (see
 * FailoverDedup): a Redis outage degrades the service instead of ending it.
 * `hooks` hear of outages (the pipeline logs them, sets /readyz and a metric).
 */
export async function createDedup(
  loaded: LoadedConfig, store: Knex, env: NodeJS.ProcessEnv, logger: Logger, hooks: DedupOutageHooks = logOutages(logger),
): Promise<Dedup> {
  const { config } = loaded;
  const schema = config.stateStore.schema;
  if (config.redis) {
    const url = readSecret(config.redis.url, 'redis.url', env);
    let failover: FailoverDedup | null = null;
    const redis = new RedisDedup({ url, keyPrefix: config.redis.keyPrefix, onConnection: (up, reason) => failover?.connectionChanged(up, reason) });
    failover = new FailoverDedup(redis, new StoreDedup({ db: store, schema }), hooks);
    if (!(await redis.waitUntilReady(REDIS_START_WAIT_MS))) failover.connectionChanged(false, redis.lastErrorText ?? 'no answer');
    return failover;
  }
  if (!config.pipeline.allowNoRedis) {
    throw new ConfigError('no redis configured: set redis.url, or pipeline.allowNoRedis: true to deduplicate in the state store (meant for the embedded demo)', { file: loaded.file, path: 'redis' });
  }
  logger.warn('running without Redis: deduplication falls back to the state store (fine for the demo, slower under load)');
  return new StoreDedup({ db: store, schema });
}

/** The log lines of a Redis outage and its end (the pipeline adds /readyz and metrics to them). */
export function logOutages(logger: Logger): DedupOutageHooks {
  return {
    onOutage: (reason) => logger.warn('Redis unavailable: deduplicating in the state store until it is back', { dependency: 'redis', reason }),
    onRecovered: (outageMs) => logger.info('Redis is back: deduplicating in Redis again', { dependency: 'redis', outageMs }),
  };
}

export function createTargets(config: TandemConfig, env: NodeJS.ProcessEnv, logger?: Logger): Map<string, ApplyTarget> {
  const targets = new Map<string, ApplyTarget>();
  for (const [system, spec] of Object.entries(config.systems)) {
    targets.set(system, connectorOf(spec).target({ config, system, spec, env, url: () => systemUrl(config, system, env), logger }));
  }
  return targets;
}

/** Systems whose changes tandem reads, natively or through Debezium. */
export function capturedSystems(config: TandemConfig): string[] {
  return Object.keys(config.systems).filter((s) => config.systems[s]!.capture !== undefined || config.systems[s]!.debezium !== undefined);
}

/**
 * How often a natively captured source proves through its log that it is
 * caught up (its `capture.heartbeatMs`); 0 when it has none or tandem does not
 * know it (Debezium over Kafka, SQL Server polling).
 */
export function heartbeatMsOf(config: TandemConfig, system: string): number {
  const spec = config.systems[system]!;
  if (spec.debezium) return 0;
  const heartbeatMs = (spec.capture as { heartbeatMs?: unknown } | undefined)?.heartbeatMs;
  return typeof heartbeatMs === 'number' ? heartbeatMs : 0;
}

export function sourceFactory(
  config: TandemConfig, system: string, registry: MappingRegistry, store: Knex, env: NodeJS.ProcessEnv, logger: Logger, onSnapshotPlanned?: SnapshotPlanned,
): () => Promise<ChangeSource> {
  const spec = config.systems[system]!;
  const log: LogFn = (level, message, meta) => logger.log(level, message, { system, ...meta });
  const ctx = { config, system, spec, env, url: () => systemUrl(config, system, env), registry, store, log, onSnapshotPlanned };
  if (spec.debezium) return debeziumSource(ctx);
  const connector = connectorOf(spec);
  if (spec.capture !== undefined && connector.source) return connector.source(ctx);
  throw new ConfigError(`capture of ${spec.type} system ${system} ${spec.debezium ? 'through Debezium' : 'natively'} is not available in this version`, { system, path: `systems.${system}` });
}
