import type { Knex } from 'knex';
import { FailoverDedup, RedisDedup, RestTarget, SqlTarget, StoreDedup, type ApplyTarget, type Dedup, type DedupOutageHooks, type RestAuth } from '../apply';
import { createKafkaSource, createMysqlSource, createPostgresSource, createSqlServerSource, defaultTopics, type ChangeSource, type KafkaConnection, type SnapshotPlanned } from '../capture';
import type { RestAuthConfig } from '../config/spec';
import { readSecret, type KafkaConfig, type LoadedConfig, type MysqlCaptureConfig, type PostgresCaptureConfig, type SqlserverCaptureConfig, type TandemConfig } from '../config';
import { ConfigError } from '../errors';
import type { Logger } from '../log';
import type { LogFn } from '../capture/postgres/options';
import { loadCheckpoints, snapshottedTables } from '../store';
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
    if (spec.type === 'rest') {
      targets.set(system, createRestTarget(config, system, env, logger));
      continue;
    }
    targets.set(system, new SqlTarget({
      system,
      type: spec.type,
      connectionString: systemUrl(config, system, env),
      origin: spec.apply.origin,
      echoServerId: spec.type === 'mysql' ? spec.apply.echoServerId : undefined,
      // A target that is also captured may change under us: write only what we last saw.
      conditional: spec.apply.conditional ?? (spec.capture !== undefined || spec.debezium !== undefined),
      poolSize: spec.apply.poolSize,
      log: logger,
    }));
  }
  return targets;
}

/** A REST system's target, its secrets (URL, credentials, webhook) read now. */
function createRestTarget(config: TandemConfig, system: string, env: NodeJS.ProcessEnv, logger?: Logger): RestTarget {
  const rest = config.systems[system]!.rest;
  const at = `systems.${system}.rest`;
  if (!rest) throw new ConfigError(`REST system ${system} has no rest settings`, { system, path: at });
  const secret = (ref: Parameters<typeof readSecret>[0], path: string) => readSecret(ref, `${at}.${path}`, env);
  return new RestTarget({
    system,
    baseUrl: systemUrl(config, system, env),
    auth: restAuth(rest.auth, secret),
    timeoutMs: rest.timeoutMs,
    rateLimitPerSecond: rest.rateLimitPerSecond,
    rateLimitBurst: rest.rateLimitBurst,
    circuitBreaker: rest.circuitBreaker,
    alertWebhook: rest.alertWebhook ? secret(rest.alertWebhook, 'alertWebhook') : undefined,
    endpoints: rest.endpoints,
    concurrency: config.pipeline.applyConcurrency,
    log: logger ? (level, message, meta) => logger.log(level, message, meta) : undefined,
  });
}

function restAuth(auth: RestAuthConfig | undefined, secret: (ref: Parameters<typeof readSecret>[0], path: string) => string): RestAuth {
  if (!auth) return { kind: 'none' };
  if ('bearer' in auth) return { kind: 'bearer', token: secret(auth.bearer, 'auth.bearer') };
  if ('apiKey' in auth) return { kind: 'apiKey', header: auth.apiKey.header, value: secret(auth.apiKey.value, 'auth.apiKey.value') };
  if ('basic' in auth) return { kind: 'basic', username: auth.basic.username, password: secret(auth.basic.password, 'auth.basic.password') };
  const { tokenUrl, clientId, clientSecret, scope } = auth.oauth2;
  return { kind: 'oauth2', tokenUrl, clientId, clientSecret: secret(clientSecret, 'auth.oauth2.clientSecret'), scope };
}

/** Systems whose changes tandem reads, natively or through Debezium. */
export function capturedSystems(config: TandemConfig): string[] {
  return Object.keys(config.systems).filter((s) => config.systems[s]!.capture !== undefined || config.systems[s]!.debezium !== undefined);
}

/** How often a natively captured source sends a heartbeat through its log (0: none, or not known: Debezium, SQL Server). */
export function heartbeatMsOf(config: TandemConfig, system: string): number {
  const spec = config.systems[system]!;
  if (spec.debezium || !spec.capture) return 0;
  if (spec.type === 'postgres') return (spec.capture as PostgresCaptureConfig).heartbeatMs;
  if (spec.type === 'mysql') return (spec.capture as MysqlCaptureConfig).heartbeatMs;
  return 0;
}

export function sourceFactory(
  config: TandemConfig, system: string, registry: MappingRegistry, store: Knex, env: NodeJS.ProcessEnv, logger: Logger, onSnapshotPlanned?: SnapshotPlanned,
): () => Promise<ChangeSource> {
  const spec = config.systems[system]!;
  const log: LogFn = (level, message, meta) => logger.log(level, message, { system, ...meta });
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
      onSnapshotPlanned,
      log,
    });
  }
  if (spec.debezium) return debeziumSourceFactory(config, system, registry, env, log);
  if (spec.type === 'sqlserver' && spec.capture) {
    const capture = spec.capture as SqlserverCaptureConfig;
    return async () => {
      const mappings = registry.all().filter((m) => m.system === system);
      const checkpoint = (await loadCheckpoints(store, config.stateStore.schema)).find((c) => c.system === system);
      return createSqlServerSource({
        system,
        connectionString: systemUrl(config, system, env),
        tables: registry.tablesOf(system),
        // Every mapped column must be captured (a column added after the capture instance is not).
        columns: Object.fromEntries(mappings.map((m) => [m.table, [...new Set([...m.keyColumns, ...m.fields.map((f) => f.column)])]])),
        captureInstances: capture.captureInstances,
        pollIntervalMs: capture.pollIntervalMs,
        snapshot: capture.snapshot,
        maxBatchEvents: capture.maxBatchEvents,
        startPosition: checkpoint?.position ?? null,
        snapshotted: await snapshottedTables(store, config.stateStore.schema, system),
        onSnapshotPlanned,
        log,
      });
    };
  }
  if (spec.type === 'mysql' && spec.capture) {
    const capture = spec.capture as MysqlCaptureConfig;
    const schema = config.stateStore.schema;
    return async () => createMysqlSource({
      system,
      connectionString: systemUrl(config, system, env),
      serverId: capture.serverId,
      // tandem's own writes to this system carry this server id: their events are marked with its origin.
      echo: spec.apply.echoServerId === undefined ? undefined : { serverId: spec.apply.echoServerId, origin: spec.apply.origin },
      tables: registry.tablesOf(system),
      heartbeatMs: capture.heartbeatMs,
      snapshot: capture.snapshot,
      maxBatchEvents: capture.maxBatchEvents,
      maxBatchDelayMs: capture.maxBatchDelayMs,
      snapshotted: await snapshottedTables(store, schema, system),
      // The binlog source keeps no state on the server: it resumes from the pipeline's checkpoint.
      startPosition: (await loadCheckpoints(store, schema)).find((c) => c.system === system)?.position ?? null,
      onSnapshotPlanned,
      log,
    });
  }
  throw new ConfigError(`capture of ${spec.type} system ${system} ${spec.debezium ? 'through Debezium' : 'natively'} is not available in this version`, { system, path: `systems.${system}` });
}

/**
 * A system captured by Debezium, read from Kafka. Each system has its own
 * consumer group, `<kafka.groupId>.<system>`: kafkajs' round-robin assignor
 * hands every subscribed partition to any member, so consumers of two systems
 * in one group would be given each other's topics.
 */
function debeziumSourceFactory(config: TandemConfig, system: string, registry: MappingRegistry, env: NodeJS.ProcessEnv, log: LogFn): () => Promise<ChangeSource> {
  const spec = config.systems[system]!;
  const dbz = spec.debezium!;
  if (!config.kafka) throw new ConfigError(`system ${system} is captured through Debezium but the configuration has no kafka section`, { system, path: 'kafka' });
  const kafka = config.kafka;
  const mysqlLike = dbz.connector === 'mysql' || dbz.connector === 'mariadb';
  const tables = registry.tablesOf(system);
  const topics = dbz.topics ?? (dbz.topicPattern ? undefined : defaultTopics(dbz.topicPrefix, tables, mysqlLike ? '' : 'public'));
  return async () => createKafkaSource({
    system,
    connection: kafkaConnection(kafka, env),
    groupId: `${kafka.groupId}.${system}`,
    topics,
    topicPattern: dbz.topicPattern,
    heartbeatTopic: `${dbz.heartbeatTopicPrefix}.${dbz.topicPrefix}`,
    heartbeatTopicPrefix: dbz.heartbeatTopicPrefix,
    tables: tables.map((t) => (t.includes('.') ? t : `public.${t}`)),
    databaseIsSchema: mysqlLike,
    maxBatchEvents: dbz.maxBatchEvents,
    sessionTimeoutMs: kafka.sessionTimeoutMs,
    partitionsConsumedConcurrently: kafka.partitionsConsumedConcurrently,
    fromBeginning: kafka.fromBeginning,
    log,
  });
}

export function kafkaConnection(kafka: KafkaConfig, env: NodeJS.ProcessEnv): KafkaConnection {
  const secret = (ref: Parameters<typeof readSecret>[0] | undefined, path: string) => (ref ? readSecret(ref, path, env) : undefined);
  const ssl = typeof kafka.ssl === 'boolean' ? kafka.ssl : {
    ca: secret(kafka.ssl.ca, 'kafka.ssl.ca'), cert: secret(kafka.ssl.cert, 'kafka.ssl.cert'), key: secret(kafka.ssl.key, 'kafka.ssl.key'),
    rejectUnauthorized: kafka.ssl.rejectUnauthorized,
  };
  const sasl = kafka.sasl ? { mechanism: kafka.sasl.mechanism, username: kafka.sasl.username, password: readSecret(kafka.sasl.password, 'kafka.sasl.password', env) } : undefined;
  return { brokers: kafka.brokers, clientId: kafka.clientId, ssl, sasl };
}
