/**
 * Reachability of what tandem runs beside: the state store, Redis, Kafka (and
 * the Debezium topics tandem would subscribe to), REST targets. Each with a
 * timeout, so an unreachable host is a finding, not a hang.
 */
import { Redis } from 'ioredis';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { kafkaClientConfig } from '../capture';
import { readSecret, type TandemConfig } from '../config';
import { debeziumTopics } from '../connectors';
import { errorMessage } from '../errors';
import { kafkaConnection, systemUrl } from '../pipeline';
import { findingsFor, type PreflightFinding } from './finding';

export async function withTimeout<T>(what: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([what, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function stateStoreFindings(config: TandemConfig, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<PreflightFinding[]> {
  const finding = findingsFor('stateStore');
  const client = new pg.Client({ connectionString: readSecret(config.stateStore.url, 'stateStore.url', env), connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ present: boolean; can_create: boolean; username: string; database: string }>(
      `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS present, has_database_privilege(current_database(), 'CREATE') AS can_create,
              current_user AS username, current_database() AS database`, [config.stateStore.schema]);
    const row = rows[0]!;
    if (!row.present && !row.can_create) {
      return [finding('error', 'privilege', null, `schema ${config.stateStore.schema} does not exist and ${row.username} may not create it`,
        `GRANT CREATE ON DATABASE ${row.database} TO ${row.username}, or create the schema for it`)];
    }
    return [];
  } catch (error) {
    return [finding('error', 'connect', null, `the state store cannot be reached: ${errorMessage(error)}`, 'check stateStore.url and that the server accepts connections from here')];
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function redisFindings(config: TandemConfig, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<PreflightFinding[]> {
  if (!config.redis) return [];
  const redis = new Redis(readSecret(config.redis.url, 'redis.url', env), {
    lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false,
  });
  // ioredis rejects with "Connection is closed"; the socket's own error says why.
  let cause: unknown = null;
  redis.on('error', (error) => (cause ??= error));
  try {
    await withTimeout(redis.connect().then(() => redis.ping()), timeoutMs, 'redis');
    return [];
  } catch (error) {
    return [findingsFor('redis')('error', 'connect', null, `Redis cannot be reached: ${errorMessage(cause ?? error)}`, 'check redis.url and that Redis is running')];
  } finally {
    redis.disconnect();
  }
}

export async function kafkaFindings(config: TandemConfig, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<PreflightFinding[]> {
  if (!config.kafka) return [];
  const clientConfig = { ...kafkaClientConfig(kafkaConnection(config.kafka, env)), connectionTimeout: timeoutMs, requestTimeout: timeoutMs, retry: { retries: 0 } };
  const admin = new kafkajs.Kafka(clientConfig).admin();
  const finding = findingsFor('kafka');
  try {
    await withTimeout(admin.connect(), timeoutMs, 'kafka');
    const topics = new Set(await withTimeout(admin.listTopics(), timeoutMs, 'kafka'));
    const out: PreflightFinding[] = [];
    for (const [system, spec] of Object.entries(config.systems)) {
      const dbz = spec.debezium;
      if (!dbz || dbz.topicPattern) continue;
      for (const topic of debeziumTopics(config, system) ?? []) {
        if (!topics.has(topic)) {
          out.push(findingsFor(system)('warning', 'connect', null, `Kafka has no topic ${topic} yet: nothing has been published for it`,
            `check the connector's topic.prefix (${dbz.topicPrefix}) and table list; the topic appears with the connector's first event of that table`));
        }
      }
    }
    return out;
  } catch (error) {
    return [finding('error', 'connect', null, `Kafka cannot be reached at ${config.kafka.brokers.join(', ')}: ${errorMessage(error)}`, 'check kafka.brokers, ssl and sasl, and that the brokers are up')];
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** A REST target answers at all (any HTTP status will do): cheap, and says nothing about credentials. */
export async function restFindings(config: TandemConfig, system: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<PreflightFinding[]> {
  const url = systemUrl(config, system, env);
  try {
    await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(timeoutMs) });
    return [];
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    return [findingsFor(system)('warning', 'connect', null, `the API does not answer: ${errorMessage(cause ?? error)}`, `check systems.${system}.url and the network path to it`)];
  }
}
