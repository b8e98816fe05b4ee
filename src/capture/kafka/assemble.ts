/**
 * One kafkajs batch (one topic-partition, offset order) → ChangeBatches of at
 * most `maxBatchEvents` events, each positioned at its last message. Messages
 * that are not row changes (tombstones, transaction markers, schema changes,
 * logical messages) only move the position; heartbeats also move lag;
 * undecodable ones travel in the batch to be parked.
 */
import type kafkajs from 'kafkajs';
import type { ChangeEvent } from '../change-event';
import { decodeDebeziumMessage, kafkaPosition, type DebeziumDecodeOptions, type DebeziumRecord } from '../debezium';
import type { ChangeBatch, UndecodableMessage } from '../source';
import { DecodeError, TandemError } from '../../errors';

export interface AssembleOptions {
  system: string;
  maxBatchEvents: number;
  heartbeatTopicPrefix: string;
  unavailableValuePlaceholder?: string;
  /** Mapped `schema.table` names; undefined accepts every table. */
  tables?: ReadonlySet<string>;
  databaseIsSchema: boolean;
}

export interface Chunk {
  batch: ChangeBatch;
  /** Offset of the chunk's last message. */
  lastOffset: string;
}

export function assemble(topic: string, partition: number, messages: kafkajs.KafkaMessage[], o: AssembleOptions): Chunk[] {
  const chunks: Chunk[] = [];
  const decodeOptions = { system: o.system, heartbeatTopicPrefix: o.heartbeatTopicPrefix, unavailableValuePlaceholder: o.unavailableValuePlaceholder };
  let current = fresh(o.system);
  let lastOffset = '';
  for (const message of messages) {
    lastOffset = message.offset;
    addMessage(current, topic, partition, message, o, decodeOptions);
    if (current.events.length >= o.maxBatchEvents) {
      chunks.push(seal(current, topic, partition, lastOffset));
      current = fresh(o.system);
    }
  }
  const cut = chunks.at(-1)?.lastOffset;
  if (lastOffset !== '' && cut !== lastOffset) chunks.push(seal(current, topic, partition, lastOffset));
  return chunks;
}

interface Draft {
  system: string;
  events: ChangeEvent[];
  undecodable: UndecodableMessage[];
  sourceTimeMs: number;
}

function fresh(system: string): Draft {
  return { system, events: [], undecodable: [], sourceTimeMs: 0 };
}

function seal(d: Draft, topic: string, partition: number, lastOffset: string): Chunk {
  const batch: ChangeBatch = { system: d.system, events: d.events, position: kafkaPosition(topic, partition, lastOffset), sourceTimeMs: d.sourceTimeMs };
  if (d.undecodable.length > 0) batch.undecodable = d.undecodable;
  return { batch, lastOffset };
}

function addMessage(d: Draft, topic: string, partition: number, message: kafkajs.KafkaMessage, o: AssembleOptions, decodeOptions: DebeziumDecodeOptions): void {
  // Kafka's record time (when Connect published it) stands in until an event says when it was committed.
  d.sourceTimeMs = Math.max(d.sourceTimeMs, Number(message.timestamp) || 0);
  let record: DebeziumRecord;
  try {
    record = decodeDebeziumMessage({ key: message.key, value: message.value, topic, partition, offset: message.offset, system: o.system }, decodeOptions);
  } catch (error) {
    d.undecodable.push(undecodable(topic, partition, message, error, null));
    return;
  }
  if (record.kind === 'heartbeat' && record.tsMs !== null) d.sourceTimeMs = Math.max(d.sourceTimeMs, record.tsMs);
  if (record.kind !== 'change') return;
  const event = o.databaseIsSchema && record.event.source.schema === null
    ? { ...record.event, source: { ...record.event.source, schema: record.event.source.database } }
    : record.event;
  const table = `${event.source.schema ?? 'public'}.${event.source.table}`;
  if (o.tables && !o.tables.has(table)) {
    d.undecodable.push(undecodable(topic, partition, message, null, table));
    return;
  }
  d.events.push(event);
  d.sourceTimeMs = Math.max(d.sourceTimeMs, event.source.commitTimeMs);
}

function undecodable(topic: string, partition: number, message: kafkajs.KafkaMessage, error: unknown, unmappedTable: string | null): UndecodableMessage {
  const unmapped = unmappedTable !== null;
  const what = error instanceof TandemError ? error.message : error instanceof Error ? error.message : String(error);
  return {
    position: kafkaPosition(topic, partition, message.offset),
    errorCode: unmapped ? 'TABLE_UNMAPPED' : error instanceof DecodeError ? error.code : 'EVENT_UNDECODABLE',
    error: unmapped ? `topic ${topic} partition ${partition} offset ${message.offset}: no mapping for table ${unmappedTable}` : what,
    table: unmappedTable,
    raw: {
      topic, partition, offset: message.offset, timestamp: message.timestamp,
      key: message.key ? message.key.toString('base64') : null,
      value: message.value ? message.value.toString('base64') : null,
    },
  };
}
