/** Unit tests of the Kafka source's parts that need no broker: topics, positions, hand-off, assembly. */
import { describe, expect, it } from 'vitest';
import { defaultTopics, parseKafkaPosition, topicsToRead } from '../../src/capture/kafka';
import { assemble } from '../../src/capture/kafka/assemble';
import { Handoff } from '../../src/capture/kafka/handoff';
import { kafkaPosition } from '../../src/capture/debezium';
import type { ChangeBatch } from '../../src/capture';
import { customerEvent } from './pipeline-support';

const row = (id: number, name: string) => ({ id, name, balance: '-0.0001', active: true, updated_at: '2026-01-02T03:04:05.123456Z' });
const message = (offset: number, key: string | null, value: string | null) => ({
  key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value), offset: String(offset),
  timestamp: '1700000000000', attributes: 0, headers: {},
});
const options = { system: 'src', maxBatchEvents: 2, heartbeatTopicPrefix: '__debezium-heartbeat', tables: new Set(['public.customer']), databaseIsSchema: false };

describe('Kafka source parts', () => {
  it('names Debezium topics per mapped table and reads only those that exist', () => {
    expect(defaultTopics('erp', ['public.customers', 'orders'])).toEqual(['erp.public.customers', 'erp.public.orders']);
    expect(defaultTopics('crm', ['crmdb.accounts'], '')).toEqual(['crm.crmdb.accounts']);
    const existing = ['erp.public.customers', 'erp.public.other', '__debezium-heartbeat.erp'];
    expect(topicsToRead(existing, { topics: ['erp.public.customers', 'erp.public.orders'], heartbeatTopic: '__debezium-heartbeat.erp' }))
      .toEqual(['__debezium-heartbeat.erp', 'erp.public.customers']);
    expect(topicsToRead(existing, { topicPattern: 'erp\\.public\\..*' })).toEqual(['erp.public.customers', 'erp.public.other']);
  });

  it('parses its own Kafka positions back', () => {
    expect(parseKafkaPosition(kafkaPosition('a.b/c', 3, '18446744073709551615'))).toEqual({ topic: 'a.b/c', partition: 3, offset: '18446744073709551615' });
  });

  it('groups a partition\'s messages into batches at their last offset; poison and unmapped tables travel to be parked', () => {
    const good = (seq: number, id: number) => customerEvent('p', seq, null, row(id, `n${seq}`));
    const unmapped = customerEvent('p', 9, null, row(9, 'x'));
    const chunks = assemble('p.public.customer', 1, [
      message(10, good(1, 1).key, good(1, 1).value),
      message(11, '{"id":1}', null), // tombstone: skipped, offset still covered
      message(12, null, 'not json'),
      message(13, good(2, 2).key, good(2, 2).value),
      message(14, unmapped.key, unmapped.value.replace('"table":"customer"', '"table":"nope"')),
      message(15, good(3, 3).key, good(3, 3).value),
    ], options);
    expect(chunks.map((c) => [c.lastOffset, c.batch.events.length, c.batch.undecodable?.map((u) => u.errorCode) ?? []])).toEqual([
      ['13', 2, ['EVENT_UNDECODABLE']],
      ['15', 1, ['TABLE_UNMAPPED']],
    ]);
    expect(parseKafkaPosition(chunks[1]!.batch.position)).toEqual({ topic: 'p.public.customer', partition: 1, offset: '15' });
    expect(chunks[0]!.batch.events[0]!.after).toMatchObject({ id: 1, balance: '-0.0001' });
    expect(chunks[0]!.batch.undecodable![0]!.raw).toMatchObject({ topic: 'p.public.customer', partition: 1, offset: '12', key: null, value: Buffer.from('not json').toString('base64') });
  });

  it('hands batches out in order, settles them on acknowledge, abandons revoked partitions', async () => {
    const handoff = new Handoff(4);
    const batch = (p: string, offset: number): ChangeBatch => ({ system: 's', events: [], position: `${p}/${offset}`, sourceTimeMs: 0 });
    const a1 = handoff.push(batch('a', 1), 'a');
    const b1 = handoff.push(batch('b', 1), 'b');
    const a2 = handoff.push(batch('a', 2), 'a');
    const it = handoff.iterate();
    expect((await it.next()).value?.position).toBe('a/1');
    handoff.acknowledge('a/1');
    await expect(a1).resolves.toBe('acked');
    expect(handoff.abandon((p) => p === 'a')).toBe(1);
    await expect(a2).resolves.toBe('abandoned');
    handoff.acknowledge('a/2'); // late ack of abandoned work: ignored
    expect((await it.next()).value?.position).toBe('b/1');
    handoff.close();
    await expect(b1).resolves.toBe('abandoned');
    expect((await it.next()).done).toBe(true);
  });
});
