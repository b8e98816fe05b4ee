/**
 * The JsonConverter's `{"schema":S,"payload":P}` split without reading S
 * again when it was seen before. A topic's messages repeat one schema: its
 * parsed form and compiled column decoders (a `SchemaPlan`) are kept by the
 * schema's exact text, and for Kafka's raw bytes the few most recent
 * schemas are recognised by comparing bytes, so neither the schema's UTF-8
 * decoding nor hashing its text is paid per message. Only P is decoded and
 * parsed (losslessly).
 *
 * The split is the one `text.indexOf(',"payload":')` finds, and S is only
 * accepted if it parses on its own as one JSON value: JSON tokenises left
 * to right, so the message then means exactly what parsing it whole means.
 * A cached S never contains `,"payload":` (it was cut at the first one) and
 * that text has no border, so matching S's bytes finds that same split.
 * Any other shape, or malformed text, gives null: the caller takes the
 * general path, which also words the errors.
 */
import { fieldOf, readSchema, type ConnectSchema } from './connect-schema';
import { compileRow, type RowPlan } from './compile';
import { parseJsonLossless, type Json } from './lossless-json';

/** What the decoder needs of a cached schema, worked out once. */
export class SchemaPlan {
  private rows: { before: RowPlan | null; after: RowPlan | null } | undefined;
  private keys: string[] | null | undefined;

  constructor(readonly schema: ConnectSchema | null) {}

  /** Decoders of the envelope's `before`/`after` struct; null when the schema has no such field. */
  row(part: 'before' | 'after'): RowPlan | null {
    this.rows ??= { before: rowPlanOf(this.schema, 'before'), after: rowPlanOf(this.schema, 'after') };
    return this.rows[part];
  }

  /** A key schema's field names in order; null when it is not a struct with fields. */
  keyColumns(): string[] | null {
    if (this.keys === undefined) {
      const s = this.schema;
      this.keys = s?.type === 'struct' && s.fields ? s.fields.map((f) => f.field ?? '').filter(Boolean) : null;
    }
    return this.keys;
  }
}

function rowPlanOf(schema: ConnectSchema | null, part: 'before' | 'after'): RowPlan | null {
  const rowSchema = fieldOf(schema, part);
  return rowSchema ? compileRow(rowSchema) : null;
}

export interface SplitEnvelope {
  plan: SchemaPlan;
  payload: Json;
}

/** Plans by the schema's exact text: a topic's messages repeat one schema. */
const byText = new Map<string, SchemaPlan>();
const TEXT_CACHE_CAPACITY = 1000;

/** The plan of a schema text; null when the text is not one JSON value. */
function planOf(schemaText: string): SchemaPlan | null {
  let plan = byText.get(schemaText);
  if (plan === undefined) {
    try {
      plan = new SchemaPlan(readSchema(parseJsonLossless(schemaText)));
    } catch {
      return null;
    }
    if (byText.size >= TEXT_CACHE_CAPACITY) byText.clear();
    byText.set(schemaText, plan);
  }
  return plan;
}

const SCHEMA_PREFIX = '{"schema":';
const PAYLOAD_INFIX = ',"payload":';

/** The split of a message given as text (already decoded, BOM removed). */
export function splitEnvelopeText(text: string): SplitEnvelope | null {
  if (!text.startsWith(SCHEMA_PREFIX) || text.charCodeAt(text.length - 1) !== 0x7d) return null;
  const at = text.indexOf(PAYLOAD_INFIX, SCHEMA_PREFIX.length);
  if (at < 0) return null;
  const plan = planOf(text.slice(SCHEMA_PREFIX.length, at));
  if (plan === null) return null;
  const payload = parseOrNull(text.slice(at + PAYLOAD_INFIX.length, text.length - 1));
  return payload === undefined ? null : { plan, payload };
}

const PREFIX_BYTES = Buffer.from(SCHEMA_PREFIX);
const INFIX_BYTES = Buffer.from(PAYLOAD_INFIX);
const PREFIX_LENGTH = PREFIX_BYTES.length;
const INFIX_LENGTH = INFIX_BYTES.length;
/** Fatal: malformed UTF-8 falls back to the general path, which reports it. A BOM inside is kept, as in the whole text. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

interface Recent {
  bytes: Buffer;
  plan: SchemaPlan;
}
/** The latest schemas seen (a key's and a value's per topic), oldest first out; a miss costs only a length or byte check. */
const recent: Recent[] = [];
const RECENT_CAPACITY = 16;

/** The split of a message given as UTF-8 bytes (as kafkajs hands them over). */
export function splitEnvelopeBytes(input: Uint8Array): SplitEnvelope | null {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const n = buf.length;
  if (n < PREFIX_LENGTH + INFIX_LENGTH + 2 || buf[n - 1] !== 0x7d || buf.compare(PREFIX_BYTES, 0, PREFIX_LENGTH, 0, PREFIX_LENGTH) !== 0) return null;
  let plan: SchemaPlan | null = null;
  let at = -1;
  for (let i = 0; i < recent.length; i++) {
    const entry = recent[i]!;
    const end = PREFIX_LENGTH + entry.bytes.length;
    if (end + INFIX_LENGTH >= n || buf[end] !== 0x2c) continue;
    if (buf.compare(entry.bytes, 0, entry.bytes.length, PREFIX_LENGTH, end) !== 0) continue;
    if (buf.compare(INFIX_BYTES, 0, INFIX_LENGTH, end, end + INFIX_LENGTH) !== 0) continue;
    plan = entry.plan;
    at = end;
    break;
  }
  if (plan === null) {
    at = buf.indexOf(INFIX_BYTES, PREFIX_LENGTH);
    if (at < 0) return null;
    const schemaBytes = buf.subarray(PREFIX_LENGTH, at);
    const schemaText = decodeOrNull(schemaBytes);
    if (schemaText === null) return null;
    plan = planOf(schemaText);
    if (plan === null) return null;
    // A copy: the message's buffer is a slice of a whole fetch response, which must not be kept alive.
    recent.unshift({ bytes: Buffer.from(schemaBytes), plan });
    if (recent.length > RECENT_CAPACITY) recent.pop();
  }
  const payloadText = decodeOrNull(buf.subarray(at + INFIX_LENGTH, n - 1));
  if (payloadText === null) return null;
  const payload = parseOrNull(payloadText);
  return payload === undefined ? null : { plan, payload };
}

function decodeOrNull(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

function parseOrNull(text: string): Json | undefined {
  try {
    return parseJsonLossless(text);
  } catch {
    return undefined;
  }
}
