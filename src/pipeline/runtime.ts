import type { Knex } from 'knex';
import { RedisDedup, SqlTarget, StoreDedup, type Dedup } from '../apply';
import { createPostgresSource, type ChangeSource } from '../capture';
import { readSecret, type LoadedConfig, type PostgresCaptureConfig, type TandemConfig } from '../config';
import { ConfigError } from '../errors';
import type { Logger } from '../log';
import { snapshottedTables } from '../store';
import type { MappingRegistry } from '../transform';

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

export async function createDedup(loaded: LoadedConfig, store: Knex, env: NodeJS.ProcessEnv, logger: Logger): Promise<Dedup> {
  const { config } = loaded;
  if (config.redis) {
    const url = readSecret(config.redis.url, 'redis.url', env);
    return new RedisDedup({ url, keyPrefix: config.redis.keyPrefix });
  }
  if (!config.pipeline.allowNoRedis) {
    throw new ConfigError('no redis configured: set redis.url, or pipeline.allowNoRedis: true to deduplicate in the state store (meant for the embedded demo)', { file: loaded.file, path: 'redis' });
  }
  logger.warn('running without Redis: deduplication falls back to the state store (fine for the demo, slower under load)');
  return new StoreDedup({ db: store, schema: config.stateStore.schema });
}

export function createTargets(config: TandemConfig, env: NodeJS.ProcessEnv): Map<string, SqlTarget> {
  const targets = new Map<string, SqlTarget>();
  for (const [system, spec] of Object.entries(config.systems)) {
    if (spec.type === 'sqlserver') throw new ConfigError(`writing to SQL Server system ${system} is not available in this version`, { system, path: `systems.${system}.type` });
    targets.set(system, new SqlTarget({
      system,
      type: spec.type,
      connectionString: systemUrl(config, system, env),
      origin: spec.apply.origin,
      // A target that is also captured may change under us: write only what we last saw.
      conditional: spec.apply.conditional ?? (spec.capture !== undefined || spec.debezium !== undefined),
      poolSize: spec.apply.poolSize,
    }));
  }
  return targets;
}

/** Systems whose changes tandem reads, natively or through Debezium. */
export function capturedSystems(config: TandemConfig): string[] {
  return Object.keys(config.systems).filter((s) => config.systems[s]!.capture !== undefined || config.systems[s]!.debezium !== undefined);
}

export function sourceFactory(config: TandemConfig, system: string, registry: MappingRegistry, store: Knex, env: NodeJS.ProcessEnv, logger: Logger): () => Promise<ChangeSource> {
  const spec = config.systems[system]!;
  const log = (level: 'info' | 'warn' | 'error' | 'debug', message: string, meta?: Record<string, unknown>) => logger.log(level, message, { system, ...meta });
  if (spec.type === 'postgres' && spec.capture) {
    const capture = spec.capture as PostgresCaptureConfig;
    return async () => createPostgresSource({
      system,
      connectionString: systemUrl(config, system, env),
      slot: capture.slot,
      publication: capture.publication,
      tables: registry.tablesOf(system),
      heartbeatMs: capture.heartbeatMs,
      statusIntervalMs: capture.statusIntervalMs,
      snapshot: capture.snapshot,
      maxBatchEvents: capture.maxBatchEvents,
      maxBatchDelayMs: capture.maxBatchDelayMs,
      snapshotted: await snapshottedTables(store, config.stateStore.schema, system),
      log,
    });
  }
  throw new ConfigError(`capture of ${spec.type} system ${system} ${spec.debezium ? 'through Debezium' : 'natively'} is not available in this version`, { system, path: `systems.${system}` });
}
