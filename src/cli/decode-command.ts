/**
 * `tandem decode [file|-]`: shows, one JSON line per message, what tandem
 * makes of Debezium messages, so an operator can see why a topic message
 * mapped as it did. Input: a value file (with `--key` its key file), a JSON
 * array of `{key, value}` objects (optionally with topic, partition, offset),
 * or `kafka-console-consumer --property print.key=true` output (one
 * `key<TAB>value` line per message), from a file or stdin. An empty value
 * (how a console consumer saves a tombstone) or the text `null` is a
 * tombstone. Text is parsed without losing big numbers.
 */
import { readFileSync } from 'node:fs';
import { decodeDebeziumMessage, parseJsonLossless, type DebeziumMessageInput, type DebeziumRecord, type Json } from '../capture/debezium';
import { errorMessage } from '../errors';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit';

export interface DecodeCommandOptions {
  key?: string;
  topic?: string;
  system?: string;
}

interface Output {
  write(text: string): void;
}

export async function runDecode(
  file: string | undefined, opts: DecodeCommandOptions,
  out: Output = process.stdout, err: Output = process.stderr,
): Promise<number> {
  let valueText: string;
  let keyText: string | null = null;
  try {
    valueText = file === undefined || file === '-' ? await readStdin() : readFileSync(file, 'utf8');
    if (opts.key !== undefined) keyText = readFileSync(opts.key, 'utf8');
  } catch (error) {
    err.write(`tandem decode: ${errorMessage(error)}\n`);
    return EXIT_USAGE;
  }
  const messages = opts.key === undefined ? asBatch(valueText, opts) : null;
  const inputs = messages ?? [{ key: orNull(keyText), value: orNull(valueText), topic: opts.topic, system: opts.system }];
  let code = EXIT_OK;
  inputs.forEach((input, index) => {
    try {
      const record = describeRecord(decodeDebeziumMessage(input), inputs.length > 1 ? index : null, hasKey(input.key));
      out.write(`${JSON.stringify(record)}\n`);
    } catch (error) {
      err.write(`tandem decode: message ${index}: ${errorMessage(error)}\n`);
      code = EXIT_FAILURE;
    }
  });
  return code;
}

/** Empty (or blank) text is no message part at all: a tombstone's value, a message without a key. */
function orNull(text: string | null): string | null {
  return text === null || text.trim() === '' ? null : text;
}

function hasKey(key: unknown): boolean {
  return key !== null && key !== undefined && !(typeof key === 'string' && key.trim() === 'null');
}

/**
 * `kafka-console-consumer --property print.key=true` output: one message per
 * line, key and value separated by a tab; the consumer prints `null` for a
 * missing key or value. Null when some line has no tab (then the text is one value).
 */
function asKeyValueLines(text: string, opts: DecodeCommandOptions): DebeziumMessageInput[] | null {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((line) => line.trim() !== '');
  if (lines.length === 0 || !lines.every((line) => line.includes('\t'))) return null;
  return lines.map((line) => {
    const tab = line.indexOf('\t');
    const part = (t: string) => (t.trim() === '' || t.trim() === 'null' ? null : t);
    return { key: part(line.slice(0, tab)), value: part(line.slice(tab + 1)), topic: opts.topic, system: opts.system };
  });
}

/** A top-level JSON array is a batch of `{key, value}`; anything else is one value. */
function asBatch(text: string, opts: DecodeCommandOptions): DebeziumMessageInput[] | null {
  let parsed: Json;
  try {
    parsed = parseJsonLossless(text.replace(/^\uFEFF/, ''));
  } catch {
    // Not JSON: console-consumer lines, or else one value whose decoding reports why.
    return asKeyValueLines(text, opts);
  }
  if (!Array.isArray(parsed)) return null;
  return parsed.map((item): DebeziumMessageInput => {
    const obj = item !== null && typeof item === 'object' && !Array.isArray(item) ? (item as Record<string, Json>) : {};
    const topic = typeof obj.topic === 'string' ? obj.topic : opts.topic;
    const partition = typeof obj.partition === 'number' ? obj.partition : undefined;
    const offset = typeof obj.offset === 'string' ? obj.offset : typeof obj.offset === 'number' ? String(obj.offset) : undefined;
    // An element that is not {key, value} is passed as a value, so it is reported, not skipped.
    if (!('value' in obj)) return { key: null, value: item, topic, system: opts.system };
    return { key: obj.key ?? null, value: obj.value ?? null, topic, partition, offset, system: opts.system };
  });
}

/** The record with the event's fields lifted to the top, commit time also as ISO text. */
function describeRecord(record: DebeziumRecord, index: number | null, keyGiven: boolean): Record<string, unknown> {
  const head = index === null ? {} : { message: index };
  if (record.kind !== 'change') return { ...head, ...record };
  const { event, transaction, kafka, hasSchema } = record;
  const { source } = event;
  return {
    ...head,
    kind: 'change',
    op: event.op,
    system: source.system,
    connector: source.connector,
    database: source.database,
    schema: source.schema,
    table: source.table,
    position: source.position,
    txId: source.txId,
    snapshot: source.snapshot,
    commitTime: new Date(source.commitTimeMs).toISOString(),
    tsMs: event.tsMs,
    // Key columns come from the key (its schema's fields, else its payload's names); without a key they are unknown, not none.
    keyColumns: keyGiven ? event.keyColumns : null,
    ...(keyGiven ? {} : { keyColumnsUnknown: 'no key given: pass --key <file>, a {key, value} array or key<TAB>value lines' }),
    before: event.before,
    after: event.after,
    unavailable: event.unavailable,
    transaction,
    kafka,
    hasSchema,
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
