import kafkajs from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { requireKafka, uniqueTopic } from '../support/index';
import { consumeUntil, kafkaClient } from './consume';

const { Partitioners } = kafkajs;

describe('test Kafka broker (scripts/kafka.sh)', () => {
  const { brokers, connectUrl } = requireKafka();
  const kafka = kafkaClient(brokers);
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const topics: string[] = [];

  afterAll(async () => {
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  });

  it('creates a topic with 3 partitions, produces to each and consumes every message back', async () => {
    const topic = uniqueTopic('broker_smoke');
    topics.push(topic);
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })).toBe(true);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]?.partitions).toHaveLength(3);

    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [0, 1, 2].map((p) => ({
        partition: p,
        key: `k${p}`,
        value: JSON.stringify({ n: p, text: 'grüße ✓' }),
        headers: { 'x-tandem-test': `h${p}` },
      })),
    });

    const got = await consumeUntil(brokers, topic, (m) => m.length >= 3);
    const byPartition = [...got].sort((a, b) => a.partition - b.partition);
    expect(byPartition.map((m) => [m.partition, m.offset, m.key])).toEqual([
      [0, '0', 'k0'],
      [1, '0', 'k1'],
      [2, '0', 'k2'],
    ]);
    expect(byPartition.map((m) => JSON.parse(m.value ?? 'null'))).toEqual([0, 1, 2].map((n) => ({ n, text: 'grüße ✓' })));
    expect(byPartition.map((m) => m.headers['x-tandem-test'])).toEqual(['h0', 'h1', 'h2']);
  });

  it('auto-creates an unknown topic with one partition', async () => {
    const topic = uniqueTopic('broker_auto');
    topics.push(topic);
    // A separate, quiet producer: its first metadata request logs the (retried) UNKNOWN_TOPIC_OR_PARTITION.
    const quiet = kafkaClient(brokers, 'tandem-test-quiet', { quiet: true }).producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await quiet.connect();
    try {
      await quiet.send({ topic, messages: [{ key: 'a', value: 'b' }] });
    } finally {
      await quiet.disconnect();
    }
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]?.partitions).toHaveLength(1);
    const got = await consumeUntil(brokers, topic, (m) => m.length >= 1);
    expect(got.map((m) => [m.key, m.value])).toEqual([['a', 'b']]);
  });

  it('has a Connect worker that lists the Debezium PostgreSQL, MySQL and MariaDB connectors and the JDBC sink (the bench peer)', async () => {
    const res = await fetch(`${connectUrl}/connector-plugins`);
    expect(res.status).toBe(200);
    const plugins = ((await res.json()) as { class: string; type: string; version: string }[]).filter((p) =>
      p.class.startsWith('io.debezium.connector.'),
    );
    expect(Object.fromEntries(plugins.map((p) => [p.class, [p.type, p.version]]))).toEqual({
      'io.debezium.connector.postgresql.PostgresConnector': ['source', '3.6.1.Final'],
      'io.debezium.connector.mysql.MySqlConnector': ['source', '3.6.1.Final'],
      'io.debezium.connector.mariadb.MariaDbConnector': ['source', '3.5.0.Final'],
      'io.debezium.connector.jdbc.JdbcSinkConnector': ['sink', '3.6.0.Final'],
    });
  });
});
