import { requireEnv } from './env';
import { uniqueName } from './names';
import { waitFor } from './wait';

/** The environment variables that point the Kafka tests at the broker and the Connect worker (scripts/kafka.sh). */
export const KAFKA_TEST_ENV = {
  brokers: 'TANDEM_TEST_KAFKA_BROKERS',
  connect: 'TANDEM_TEST_KAFKA_CONNECT_URL',
} as const;

export interface TestKafka {
  /** Broker addresses, e.g. `['127.0.0.1:19092']`. */
  brokers: string[];
  /** Base URL of the Kafka Connect REST API, e.g. `http://127.0.0.1:18083`. */
  connectUrl: string;
}

/**
 * The test broker and Connect worker. Throws (so the test FAILS, never skips)
 * when TANDEM_TEST_KAFKA_BROKERS or TANDEM_TEST_KAFKA_CONNECT_URL is unset;
 * call it at the top level of a `describe`, like requireEnv.
 */
export function requireKafka(): TestKafka {
  const brokers = requireEnv(KAFKA_TEST_ENV.brokers)
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  const connectUrl = requireEnv(KAFKA_TEST_ENV.connect).replace(/\/+$/, '');
  return { brokers, connectUrl };
}

/** A topic name no other test uses: `<prefix>_<random>` (also a valid connector name, slot name, topic prefix). */
export function uniqueTopic(prefix: string): string {
  return uniqueName(prefix);
}

export interface ConnectorStatus {
  name: string;
  connector: { state: string; worker_id: string; trace?: string };
  tasks: { id: number; state: string; worker_id: string; trace?: string }[];
  type?: string;
}

async function connectRequest(connectUrl: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${connectUrl.replace(/\/+$/, '')}${path}`, {
    method,
    headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
}

/**
 * A Debezium PostgresConnector on the server of `server` (the test server's
 * admin URL) capturing `table` (`schema.table`) of `database` through pgoutput;
 * its slot, publication and topic prefix are all `name`. Tests add their
 * snapshot mode and converter settings.
 */
export function postgresConnectorConfig(server: URL, database: string, name: string, table: string): Record<string, string | number> {
  return {
    'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    'tasks.max': 1,
    'database.hostname': server.hostname,
    'database.port': server.port || '5432',
    'database.user': decodeURIComponent(server.username),
    'database.password': decodeURIComponent(server.password),
    'database.dbname': database,
    'topic.prefix': name,
    'plugin.name': 'pgoutput',
    'slot.name': name,
    'publication.name': name,
    'publication.autocreate.mode': 'filtered',
    'table.include.list': table,
  };
}

/**
 * Creates (or replaces) connector `name` with `config` through the Connect REST
 * API (`PUT /connectors/<name>/config`). Throws with Connect's error message
 * when the config is rejected.
 */
export async function registerConnector(
  connectUrl: string,
  name: string,
  config: Record<string, string | number | boolean>,
): Promise<void> {
  const stringConfig = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)]));
  const res = await connectRequest(connectUrl, 'PUT', `/connectors/${encodeURIComponent(name)}/config`, {
    ...stringConfig,
    name,
  });
  if (!res.ok) {
    throw new Error(`registering connector ${name} failed: HTTP ${res.status} ${await res.text()}`);
  }
}

/** The connector's status (`GET /connectors/<name>/status`), or undefined while Connect does not know it yet. */
export async function connectorStatus(connectUrl: string, name: string): Promise<ConnectorStatus | undefined> {
  const res = await connectRequest(connectUrl, 'GET', `/connectors/${encodeURIComponent(name)}/status`);
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`GET status of connector ${name}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as ConnectorStatus;
}

/**
 * Waits until the connector and all its tasks (at least one) are RUNNING.
 * Fails at once, with the stack trace Connect reports, when the connector or a
 * task is FAILED.
 */
export async function waitForConnectorRunning(
  connectUrl: string,
  name: string,
  { timeoutMs = 30_000 }: { timeoutMs?: number } = {},
): Promise<ConnectorStatus> {
  let last: ConnectorStatus | undefined;
  let failed: Error | undefined;
  const status = await waitFor(
    async () => {
      last = await connectorStatus(connectUrl, name);
      if (!last) return undefined;
      const failedPart =
        last.connector.state === 'FAILED' ? last.connector : last.tasks.find((t) => t.state === 'FAILED');
      if (failedPart) {
        failed = new Error(`connector ${name} FAILED: ${failedPart.trace ?? '(no trace)'}`);
        return last; // stop polling; thrown below
      }
      return last.connector.state === 'RUNNING' && last.tasks.length > 0 && last.tasks.every((t) => t.state === 'RUNNING')
        ? last
        : undefined;
    },
    {
      timeoutMs,
      intervalMs: 250,
      message: () => `connector ${name} not RUNNING; last status: ${JSON.stringify(last)}`,
    },
  );
  if (failed) throw failed;
  return status as ConnectorStatus; // waitFor only returns a truthy value
}

/** Deletes connector `name` (`DELETE /connectors/<name>`) and waits until Connect no longer lists it. Safe if it does not exist. */
export async function deleteConnector(connectUrl: string, name: string): Promise<void> {
  const res = await connectRequest(connectUrl, 'DELETE', `/connectors/${encodeURIComponent(name)}`);
  if (!res.ok && res.status !== 404) {
    throw new Error(`deleting connector ${name} failed: HTTP ${res.status} ${await res.text()}`);
  }
  await waitFor(async () => (await connectorStatus(connectUrl, name)) === undefined, {
    timeoutMs: 30_000,
    intervalMs: 250,
    message: `connector ${name} still listed after DELETE`,
  });
}
