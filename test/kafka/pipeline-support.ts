/**
 * Shared pieces of the Kafka pipeline tests (and the bench): Debezium-shaped
 * events made from a captured envelope, a source → target configuration
 * with `{ env: NAME }` secrets, topics created up front, waiting for a target.
 */
import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import pg from 'pg';

const { Kafka, logLevel } = kafkajs;
const CAPTURED = new URL('./captured/', import.meta.url);

interface Captured {
  key: { schema: Record<string, unknown>; payload: Record<string, unknown> };
  value: { schema: Record<string, unknown>; payload: Record<string, unknown> & { source: Record<string, unknown> } };
}

const cache = new Map<string, Captured>();

export function captured(file: string): Captured {
  let c = cache.get(file);
  if (!c) cache.set(file, (c = JSON.parse(readFileSync(new URL(file, CAPTURED), 'utf8')) as Captured));
  return c;
}

/** Debezium's precise decimal: base64 of the big-endian two's-complement unscaled value. */
export function preciseDecimal(text: string, scale: number): string {
  const [whole, frac = ''] = text.replace('-', '').split('.');
  let n = BigInt(`${whole}${frac.padEnd(scale, '0').slice(0, scale)}`);
  if (text.startsWith('-')) n = -n;
  const bytes: number[] = [];
  for (let v = n; ; v >>= 8n) {
    bytes.unshift(Number(v & 0xffn));
    if ((v >= -128n && v <= 127n)) break;
  }
  return Buffer.from(bytes).toString('base64');
}

export interface CustomerRow {
  id: number;
  name: string;
  balance: string;
  active: boolean;
  updated_at: string;
}

/**
 * One Debezium PostgreSQL event for table `customer` (id, name, balance
 * numeric(18,4), active, updated_at), from the captured update envelope:
 * same schema, the given rows and a position (`lsn`) that grows with `seq`.
 */
export function customerEvent(prefix: string, seq: number, before: CustomerRow | null, after: CustomerRow | null): { key: string; value: string } {
  const template = captured('pg-update.json');
  const op = before === null ? 'c' : after === null ? 'd' : 'u';
  const lsn = 100_000_000 + seq * 8;
  const row = (r: CustomerRow | null) => (r === null ? null : { ...r, balance: preciseDecimal(r.balance, 4) });
  const now = Date.now();
  const topic = `${prefix}.public.customer`;
  const keySchema = { ...template.key.schema, name: `${topic}.Key` };
  const payload = {
    before: row(before), after: row(after),
    source: { ...template.value.payload.source, name: prefix, ts_ms: now, lsn, sequence: `[null,"${lsn}"]`, txId: 1000 + seq, ts_us: now * 1000, ts_ns: now * 1_000_000 },
    transaction: null, op, ts_ms: now, ts_us: now * 1000, ts_ns: now * 1_000_000,
  };
  const id = (after ?? before)!.id;
  return { key: JSON.stringify({ schema: keySchema, payload: { id } }), value: JSON.stringify({ schema: template.value.schema, payload }) };
}

export function kafka(brokers: string[]): kafkajs.Kafka {
  return new Kafka({ clientId: 'tandem-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 200 } });
}

export async function createTopic(brokers: string[], topic: string, numPartitions: number): Promise<void> {
  const admin = kafka(brokers).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopics(brokers: string[], topics: string[]): Promise<void> {
  const admin = kafka(brokers).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const gone = topics.filter((t) => existing.has(t));
    if (gone.length) await admin.deleteTopics({ topics: gone }).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

export async function deleteGroups(brokers: string[], groups: string[]): Promise<void> {
  const admin = kafka(brokers).admin();
  await admin.connect();
  try {
    await admin.deleteGroups(groups).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

export const CUSTOMER_DDL = `
CREATE TABLE customer (id integer PRIMARY KEY, name text NOT NULL, balance numeric(18,4), active boolean NOT NULL DEFAULT true,
  updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE write_log (id bigserial PRIMARY KEY, op text NOT NULL, row_key text, new_value text);
CREATE FUNCTION log_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO write_log (op, row_key, new_value) VALUES (TG_OP, CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END::text,
    CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.name END);
  RETURN NULL;
END $$;
CREATE TRIGGER customer_log AFTER INSERT OR UPDATE OR DELETE ON customer FOR EACH ROW EXECUTE FUNCTION log_write();
`;

export interface KafkaConfigOptions {
  brokers: string[];
  groupId: string;
  topicPrefix: string;
  connector?: 'postgresql' | 'mariadb';
  /** Mapped source table (`schema.table`). */
  sourceTable?: string;
  targetTable?: string;
  fields?: string[];
  keyColumn?: string;
  schema: string;
  redisPrefix: string;
  onTruncate?: 'ignore' | 'dead-letter';
  extraKafka?: string;
}

/** src (captured through Debezium) → dst (PostgreSQL), src owns everything. Secrets: K_STATE_URL, K_SRC_URL, K_DST_URL, K_REDIS_URL. */
export function kafkaConfig(o: KafkaConfigOptions): string {
  const fields = o.fields ?? ['id', 'name', 'balance', 'active', 'updated_at'];
  const key = o.keyColumn ?? 'id';
  const fieldLines = fields.map((f) => `      ${f}: ${f}`).join('\n');
  return `
stateStore:
  url: { env: K_STATE_URL }
  schema: ${o.schema}
redis:
  url: { env: K_REDIS_URL }
  keyPrefix: "${o.redisPrefix}"
kafka:
  brokers: [${o.brokers.map((b) => `"${b}"`).join(', ')}]
  groupId: ${o.groupId}
  sessionTimeoutMs: 10000
${o.extraKafka ?? ''}
systems:
  src:
    type: ${o.connector === 'mariadb' ? 'mysql' : 'postgres'}
    url: { env: K_SRC_URL }
    debezium:
      topicPrefix: ${o.topicPrefix}
      connector: ${o.connector ?? 'postgresql'}
  dst:
    type: postgres
    url: { env: K_DST_URL }
    apply:
      poolSize: 4
entities:
  item:
    owner: src
mappings:
  - system: src
    table: ${o.sourceTable ?? 'public.customer'}
    entity: item
    key: { columns: [${key}] }
    onTruncate: ${o.onTruncate ?? 'dead-letter'}
    fields:
${fieldLines}
  - system: dst
    table: ${o.targetTable ?? 'public.customer'}
    entity: item
    key: { columns: [${key}] }
    fields:
${fieldLines}
pipeline:
  applyPollMs: 20
  applyBatch: 1000
  applyConcurrency: 8
  leaseMs: 5000
metrics:
  port: 0
log:
  level: warn
`;
}

export async function query<T extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}
