/**
 * The peer of bench/kafka-to-pg.ts: Debezium's JDBC sink connector
 * (io.debezium.connector.jdbc.JdbcSinkConnector, 3.6.0.Final, loaded by
 * scripts/kafka.sh into the Kafka Connect worker) consuming the same Debezium
 * topic into the same target table shape, in upsert mode keyed by the record
 * key, as a user would configure it for this job.
 */
const CONNECTOR_CLASS = 'io.debezium.connector.jdbc.JdbcSinkConnector';

export interface JdbcSinkOptions {
  connectUrl: string;
  name: string;
  topic: string;
  /** postgresql://user:password@host:port/database of the target. */
  targetUrl: string;
  table: string;
  tasks: number;
  /** batch.size; the consumer's max.poll.records is raised to match when larger than its default 500. */
  batchSize: number;
}

async function connectApi(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(new URL(path, base), {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text for the error message
  }
  return { status: res.status, json };
}

/** Fails loudly when the worker does not have the plugin, saying how to load it. */
export async function requireJdbcSinkPlugin(connectUrl: string): Promise<void> {
  const { status, json } = await connectApi(connectUrl, 'GET', '/connector-plugins');
  if (status !== 200) throw new Error(`Kafka Connect at ${connectUrl}: GET /connector-plugins answered HTTP ${status}`);
  const classes = (json as Array<{ class: string }>).map((p) => p.class);
  if (!classes.includes(CONNECTOR_CLASS)) {
    throw new Error(`Kafka Connect at ${connectUrl} has no ${CONNECTOR_CLASS} (plugins: ${classes.join(', ')}). ` +
      'scripts/kafka.sh resolves it since the bench peers were added; a worker started before that loads it after ' +
      '`bash scripts/kafka.sh stop && bash scripts/kafka.sh start` (this restarts the shared worker: agree on it first).');
  }
}

export function jdbcSinkConfig(o: JdbcSinkOptions): Record<string, string> {
  const u = new URL(o.targetUrl);
  return {
    'connector.class': CONNECTOR_CLASS,
    'tasks.max': String(o.tasks),
    topics: o.topic,
    'connection.url': `jdbc:postgresql://${u.hostname}:${u.port || '5432'}${u.pathname}`,
    'connection.username': decodeURIComponent(u.username),
    'connection.password': decodeURIComponent(u.password),
    'insert.mode': 'upsert',
    'primary.key.mode': 'record_key',
    'delete.enabled': 'false',
    'schema.evolution': 'none',
    'collection.name.format': o.table,
    'use.time.zone': 'UTC',
    'batch.size': String(o.batchSize),
    'consumer.override.auto.offset.reset': 'earliest',
    'consumer.override.max.poll.records': String(Math.max(500, o.batchSize)),
    'errors.tolerance': 'none',
  };
}

export async function createJdbcSink(o: JdbcSinkOptions): Promise<void> {
  const { status, json } = await connectApi(o.connectUrl, 'POST', '/connectors', { name: o.name, config: jdbcSinkConfig(o) });
  if (status !== 201) throw new Error(`creating the JDBC sink ${o.name}: HTTP ${status} ${JSON.stringify(json).slice(0, 2000)}`);
}

/** Throws with the task's trace when the connector or one of its tasks has failed. */
export async function assertJdbcSinkRunning(connectUrl: string, name: string): Promise<void> {
  const { status, json } = await connectApi(connectUrl, 'GET', `/connectors/${encodeURIComponent(name)}/status`);
  if (status !== 200) return; // not registered yet
  const s = json as { connector: { state: string; trace?: string }; tasks: Array<{ id: number; state: string; trace?: string }> };
  const failed = [s.connector, ...s.tasks].find((t) => t.state === 'FAILED');
  if (failed) throw new Error(`JDBC sink ${name} failed: ${(failed.trace ?? '').split('\n').slice(0, 12).join('\n')}`);
}

export async function deleteJdbcSink(connectUrl: string, name: string): Promise<void> {
  await connectApi(connectUrl, 'DELETE', `/connectors/${encodeURIComponent(name)}`);
}
