/**
 * One Debezium Kafka record (JsonConverter output, with or without
 * `schemas.enable`) → what it means to tandem: a row change, a tombstone, a
 * heartbeat, a transaction boundary, a schema change or a logical message.
 * Anything else, or anything malformed, is a `DecodeError` naming the topic,
 * partition and offset, so the Kafka source can park it and go on.
 */
import { correlationIdOf, type ChangeEvent, type Op, type Row, type SourceInfo, type Value } from '../change-event';
import { DecodeError } from '../../errors';
import type { RowPlan } from './compile';
import { fieldOf, readSchema, type ConnectSchema } from './connect-schema';
import { splitEnvelopeBytes, splitEnvelopeText, type SchemaPlan, type SplitEnvelope } from './envelope';
import { isJsonObject, parseJsonLossless, type Json, type JsonObject } from './lossless-json';
import { kafkaPosition } from './position';
import { jsonText, parseText, readJson } from './read-json';
import { int, readSource, str } from './source-info';
import type { DebeziumDecodeOptions, DebeziumMessageInput, DebeziumRecord, KafkaCoordinates, TransactionBlock } from './types';
import {
  decodeColumn, decodeSchemaless, decodeWithSchema, DEFAULT_PLACEHOLDER, describe, isUnavailable, UNAVAILABLE, valueContext, ValueError,
  type ValueContext,
} from './values';

export const DEFAULT_HEARTBEAT_PREFIX = '__debezium-heartbeat';
const HEARTBEAT_SCHEMA = 'io.debezium.connector.common.Heartbeat';
const OPS: ReadonlySet<string> = new Set(['c', 'u', 'd', 'r', 't']);

export function decodeDebeziumMessage(input: DebeziumMessageInput, options: DebeziumDecodeOptions = {}): DebeziumRecord {
  const kafka = coordinates(input);
  try {
    return decode(input, options, kafka);
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    // Only our own value errors are expected; anything else is a bug, but must still not stop the partition.
    const what = error instanceof Error ? error.message : String(error);
    throw new DecodeError(`${where(input)}cannot decode Debezium message: ${what}`, {
      system: options.system ?? input.system,
      position: kafka?.position ?? undefined,
    }, { cause: error });
  }
}

function where(input: DebeziumMessageInput): string {
  const parts = [
    input.topic !== undefined ? `topic ${input.topic}` : '',
    input.partition !== undefined ? `partition ${input.partition}` : '',
    input.offset !== undefined ? `offset ${input.offset}` : '',
  ].filter(Boolean);
  return parts.length ? `${parts.join(' ')}: ` : '';
}

function coordinates(input: DebeziumMessageInput): KafkaCoordinates | null {
  if (input.topic === undefined) return null;
  const partition = input.partition ?? null;
  const offset = input.offset ?? null;
  let position: string | null = null;
  if (partition !== null && offset !== null && Number.isSafeInteger(partition) && partition >= 0 && /^\d+$/.test(offset)) {
    position = kafkaPosition(input.topic, partition, offset);
  }
  return { topic: input.topic, partition, offset, position };
}

/** A key or value: its schema, the schema's cached plan when it came from the compact form, and its payload. */
interface Envelope {
  schema: ConnectSchema | null;
  plan: SchemaPlan | null;
  payload: Json | undefined;
  hasSchema: boolean;
}

/** `{schema, payload}` (schemas.enable=true) or the bare payload. */
function unwrap(json: Json | undefined): Envelope {
  if (isJsonObject(json)) {
    const keys = Object.keys(json);
    if (keys.length === 2 && 'schema' in json && 'payload' in json) {
      const schema = readSchema(json.schema);
      return { schema, plan: null, payload: json.payload, hasSchema: schema !== null };
    }
  }
  return { schema: null, plan: null, payload: json, hasSchema: false };
}

function fromSplit(split: SplitEnvelope): Envelope {
  const { schema } = split.plan;
  return { schema, plan: split.plan, payload: split.payload, hasSchema: schema !== null };
}

/** A key or value → its schema and payload; the compact JsonConverter form reuses its schema's cached plan. */
function readEnvelope(input: unknown, what: string): Envelope {
  if (input === null || input === undefined) return unwrap(undefined);
  if (input instanceof Uint8Array) {
    const split = splitEnvelopeBytes(input);
    if (split) return fromSplit(split);
  }
  const text = jsonText(input, what);
  if (text === null) return unwrap(readJson(input, what));
  const split = splitEnvelopeText(text);
  return split ? fromSplit(split) : unwrap(parseText(text, what));
}

function decode(input: DebeziumMessageInput, options: DebeziumDecodeOptions, kafka: KafkaCoordinates | null): DebeziumRecord {
  const ctx = contextFor(options.unavailableValuePlaceholder);
  const key = readEnvelope(input.key, 'key');
  const value = readEnvelope(input.value, 'value');
  const system = options.system ?? input.system;
  const common = { kafka, hasSchema: value.hasSchema };

  // A null value, or the `{schema:null, payload:null}` the tutorial prints: a tombstone for the key.
  if (value.payload === undefined || value.payload === null) return { ...common, kind: 'tombstone', key: decodeKey(key.payload, key.schema, ctx) };
  const payload = value.payload;
  if (!isJsonObject(payload)) throw new ValueError(`value payload is ${describe(payload)}, not an object`);

  const prefix = options.heartbeatTopicPrefix ?? DEFAULT_HEARTBEAT_PREFIX;
  if ((input.topic?.startsWith(prefix) ?? false) || value.schema?.name === HEARTBEAT_SCHEMA || onlyTsMs(payload)) {
    const serverName = isJsonObject(key.payload) && typeof key.payload.serverName === 'string' ? key.payload.serverName : null;
    return { ...common, kind: 'heartbeat', tsMs: optionalMs(payload, 'ts_ms'), serverName };
  }
  if ((payload.status === 'BEGIN' || payload.status === 'END') && 'id' in payload && !('op' in payload)) {
    return { ...common, ...transactionRecord(payload, payload.status) };
  }
  if (!('op' in payload) && ('ddl' in payload || 'tableChanges' in payload || 'historyRecord' in payload)) {
    return { ...common, ...schemaChange(payload, system) };
  }
  const op = payload.op;
  if (op === 'm') return { ...common, ...message(payload, system) };
  if (typeof op !== 'string' || !OPS.has(op)) {
    throw new ValueError(op === undefined ? 'not a Debezium event: no op, status, ddl or heartbeat' : `unknown op ${describe(op)}`);
  }
  const { event, transaction } = change(payload, op as Op, value, key, system, options, ctx);
  return { kafka, hasSchema: value.hasSchema, kind: 'change', event, transaction };
}

/** `{ts_ms}` alone: a heartbeat's payload. */
function onlyTsMs(payload: JsonObject): boolean {
  if ('op' in payload || !('ts_ms' in payload)) return false;
  const keys = Object.keys(payload);
  return keys.length === 1 && keys[0] === 'ts_ms';
}

function change(
  payload: JsonObject, op: Op, value: Envelope, key: Envelope,
  system: string | undefined, options: DebeziumDecodeOptions, ctx: ValueContext,
): { kind: 'change'; event: ChangeEvent; transaction: TransactionBlock | null } {
  const transaction = transactionBlock(payload.transaction);
  const source = readSource(payload.source, { system, transactionId: transaction?.id ?? null });
  const { schema, plan } = value;
  const rowOf = (part: 'before' | 'after') => {
    // The schema's compiled decoders when the message came in the compact form it caches.
    const rowPlan = plan?.row(part);
    if (rowPlan) return decodePlannedRow(payload[part], rowPlan, ctx, part);
    const rowSchema = fieldOf(schema, part);
    if (rowSchema) return decodeRow(payload[part], (column: string) => fieldOf(rowSchema, column), ctx, part);
    // No schema in the message: the caller's per-column schemas, if any.
    return decodeRow(payload[part], (column: string) => options.columnSchemas?.[`${source.table}.${column}`] ?? null, ctx, part);
  };
  const before = op === 't' ? null : rowOf('before');
  const after = op === 't' || op === 'd' ? null : rowOf('after');
  const event: ChangeEvent = {
    op,
    before: before?.row ?? null,
    after: after?.row ?? null,
    unavailable: after?.unavailable ?? [],
    keyColumns: key.plan?.keyColumns()?.slice() ?? keyColumnsOf(key.payload, key.schema),
    source,
    tsMs: envelopeMs(payload) ?? source.commitTimeMs,
    correlationId: correlationIdOf(source.system, source.position),
  };
  return { kind: 'change', event, transaction };
}

function decodeRow(raw: Json | undefined, schemaOf: (column: string) => ConnectSchema | null, ctx: ValueContext, part: string): { row: Row; unavailable: string[] } | null {
  if (raw === undefined || raw === null) return null;
  if (!isJsonObject(raw)) throw new ValueError(`${part} is ${describe(raw)}, not an object`);
  const row: Row = {};
  const unavailable: string[] = [];
  for (const [column, item] of Object.entries(raw)) {
    let decoded: Value | typeof UNAVAILABLE;
    try {
      decoded = decodeColumn(item, schemaOf(column), ctx);
    } catch (error) {
      if (error instanceof ValueError) throw new ValueError(`${part}.${column}: ${error.message}`);
      throw error;
    }
    // An unchanged TOAST value: absent, never null, so the current value stands.
    if (decoded === UNAVAILABLE) unavailable.push(column);
    else setColumn(row, column, decoded);
  }
  return { row, unavailable };
}

/** decodeRow with the schema's compiled decoders (see compile.ts): the same values, errors and order. */
function decodePlannedRow(raw: Json | undefined, plan: RowPlan, ctx: ValueContext, part: string): { row: Row; unavailable: string[] } | null {
  if (raw === undefined || raw === null) return null;
  if (!isJsonObject(raw)) throw new ValueError(`${part} is ${describe(raw)}, not an object`);
  const row: Row = {};
  const unavailable: string[] = [];
  const columns = Object.keys(raw);
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!;
    const item = raw[column]!;
    if (item === null) {
      setColumn(row, column, null);
      continue;
    }
    // An unchanged TOAST value: absent, never null, so the current value stands.
    if (isUnavailable(item, ctx)) {
      unavailable.push(column);
      continue;
    }
    const decoder = plan.get(column);
    try {
      setColumn(row, column, decoder ? decoder(item) : decodeSchemaless(item));
    } catch (error) {
      if (error instanceof ValueError) throw new ValueError(`${part}.${column}: ${error.message}`);
      throw error;
    }
  }
  return { row, unavailable };
}

/** Assignment, except for a "__proto__" column, which must be data, not a prototype change. */
function setColumn(row: Row, column: string, value: Value): void {
  if (column === '__proto__') Object.defineProperty(row, column, { value, enumerable: true, writable: true, configurable: true });
  else row[column] = value;
}

/** The value context of a placeholder, made once (it holds the placeholder's base64). */
const contexts = new Map<string, ValueContext>();
function contextFor(placeholder: string | undefined): ValueContext {
  const key = placeholder ?? DEFAULT_PLACEHOLDER;
  let ctx = contexts.get(key);
  if (!ctx) {
    ctx = valueContext(key);
    if (contexts.size >= 100) contexts.clear();
    contexts.set(key, ctx);
  }
  return ctx;
}

function decodeKey(raw: Json | undefined, schema: ConnectSchema | null, ctx: ValueContext): Row | null {
  if (!isJsonObject(raw)) return null;
  return decodeRow(raw, (c) => fieldOf(schema, c), ctx, 'key')?.row ?? null;
}

/** Key column names: the key schema's field order, else the key object's. */
function keyColumnsOf(raw: Json | undefined, schema: ConnectSchema | null): string[] {
  if (schema?.type === 'struct' && schema.fields) return schema.fields.map((f) => f.field ?? '').filter(Boolean);
  return isJsonObject(raw) ? Object.keys(raw) : [];
}

function transactionBlock(raw: Json | undefined): TransactionBlock | null {
  if (raw === undefined || raw === null) return null;
  if (!isJsonObject(raw) || typeof raw.id !== 'string') throw new ValueError('transaction block without an id');
  return { id: raw.id, totalOrder: safe(int(raw, 'total_order') ?? 0n, 'total_order'), dataCollectionOrder: safe(int(raw, 'data_collection_order') ?? 0n, 'data_collection_order') };
}

function transactionRecord(payload: JsonObject, status: 'BEGIN' | 'END') {
  if (typeof payload.id !== 'string') throw new ValueError('transaction event without a string id');
  const count = int(payload, 'event_count');
  const collections = payload.data_collections;
  let dataCollections: Array<{ dataCollection: string; eventCount: number }> | null = null;
  if (Array.isArray(collections)) {
    dataCollections = collections.map((c) => {
      if (!isJsonObject(c) || typeof c.data_collection !== 'string') throw new ValueError('data_collections entry without data_collection');
      return { dataCollection: c.data_collection, eventCount: safe(int(c, 'event_count') ?? 0n, 'event_count') };
    });
  } else if (collections !== undefined && collections !== null) {
    throw new ValueError('data_collections is not an array');
  }
  return {
    kind: 'transaction' as const, status, id: payload.id, eventCount: count === null ? null : safe(count, 'event_count'),
    dataCollections, tsMs: optionalMs(payload, 'ts_ms') ?? 0,
  };
}

/**
 * Both shapes: the schema-change topic's `{source, databaseName, schemaName,
 * ddl, tableChanges}` and the embedded-engine `{source, historyRecord}` whose
 * history record is a JSON string holding the same fields.
 */
function schemaChange(payload: JsonObject, system: string | undefined) {
  let body: JsonObject = payload;
  if (typeof payload.historyRecord === 'string') {
    let parsed: Json;
    try {
      parsed = parseJsonLossless(payload.historyRecord);
    } catch {
      throw new ValueError('historyRecord is not JSON');
    }
    if (!isJsonObject(parsed)) throw new ValueError('historyRecord is not an object');
    body = parsed;
  }
  const tableChanges = body.tableChanges;
  if (tableChanges !== undefined && tableChanges !== null && !Array.isArray(tableChanges)) throw new ValueError('tableChanges is not an array');
  return {
    kind: 'schema-change' as const,
    databaseName: str(body, 'databaseName'),
    schemaName: str(body, 'schemaName'),
    ddl: str(body, 'ddl'),
    tableChanges: (tableChanges ?? []).map(decodeSchemaless),
    source: payload.source === undefined || payload.source === null ? null : readSource(payload.source, { system }),
    tsMs: optionalMs(payload, 'ts_ms'),
  };
}

function message(payload: JsonObject, system: string | undefined) {
  const body = payload.message;
  if (!isJsonObject(body) || typeof body.prefix !== 'string') throw new ValueError('op m without a message {prefix, content}');
  const content = body.content === null || body.content === undefined ? '' : body.content;
  if (typeof content !== 'string') throw new ValueError('message content is not base64 text');
  const source: SourceInfo = readSource(payload.source, { system });
  return {
    kind: 'message' as const, prefix: body.prefix, content,
    // pg_logical_emit_message(transactional=true) messages carry their transaction's id.
    transactional: source.txId !== null, source, tsMs: optionalMs(payload, 'ts_ms') ?? source.commitTimeMs,
  };
}

/**
 * The envelope's processing time. Informational only, so a value that is not
 * milliseconds (the SQL Server docs example has nanoseconds there) is
 * ignored rather than failing the event; the commit time stands in.
 */
function envelopeMs(payload: JsonObject): number | null {
  const n = int(payload, 'ts_ms');
  return n === null || n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(n);
}

function optionalMs(obj: JsonObject, key: string): number | null {
  const n = int(obj, key);
  return n === null ? null : safe(n, key);
}

function safe(n: bigint, what: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) throw new ValueError(`${what} out of range: ${n}`);
  return Number(n);
}

/** For callers holding a schema-driven value outside an envelope (tests, the CLI). */
export function decodeConnectValue(raw: Json, schema: ConnectSchema | null): Value {
  if (raw === null) return null;
  return schema ? decodeWithSchema(raw, schema) : decodeSchemaless(raw);
}
