/**
 * What an operator does with a dead letter: retry it or give it up. Shared by
 * `tandem dlq retry|discard` and the console, so both act (and log) alike.
 *
 * - Retry: a task letter's outbox task is put back to pending (attempts
 *   reset, due now), or queued afresh from the letter's copy if it is gone;
 *   an event letter's event is run through the resolve stage again with the
 *   current configuration (resolved, or parked again as a new letter).
 *   Either way the letter is marked `retried`, with who, when and what happened.
 * - Discard: needs a reason. The letter is marked and, in the same
 *   transaction, a `discarded` row is chained onto the conflict log (rule
 *   `dead letter #<id> discarded by <user>: <reason>`), so the hash chain
 *   covers who dropped what and why.
 */
import type { Knex } from 'knex';
import type { ChangeBatch, ChangeEvent } from '../capture';
import { assemble } from '../capture/kafka/assemble';
import { compileRules, type ConflictEntry } from '../conflict';
import { debeziumLayoutOf, debeziumTables } from '../connectors';
import type { LoadedConfig } from '../config';
import { UsageError } from '../errors';
import { silentLogger } from '../log';
import {
  appendConflicts, discardExceptionOfLetter, getDeadLetter, getRecord, requeueDeadTask, resolveDeadLetter, type DeadLetterRow, type StoredTaskCopy,
} from '../store';
import { compileMappings, type MappingRegistry } from '../transform';
import { PipelineMetrics } from './metrics';
import { resolveBatch, type ResolveStageDeps } from './resolve-stage';
import { createDedup, writableFieldsOf } from './runtime';

/** The state store and the configuration the actions work with. */
export interface LetterAccess {
  knex: Knex;
  schema: string;
  loaded: LoadedConfig;
}

/** The task a task letter carries (`payload.task`), when it does. */
export function taskOf(letter: DeadLetterRow): Record<string, unknown> | null {
  const payload = letter.payload as { task?: unknown } | null;
  return letter.kind === 'task' && payload && typeof payload === 'object' && payload.task && typeof payload.task === 'object' ? (payload.task as Record<string, unknown>) : null;
}

/** The change event an event letter carries, when it is one (not raw bytes of an undecodable message). */
export function eventOf(letter: DeadLetterRow): { source: { system: string; schema: string | null; table: string; position: string; commitTimeMs: number; txId: string | null }; op: string } | null {
  const payload = letter.payload as { source?: unknown; op?: unknown } | null;
  return letter.kind === 'event' && payload && typeof payload === 'object' && payload.source && typeof payload.op === 'string' ? (payload as never) : null;
}

/** Puts a task letter's task back in the outbox; says what was done. */
export async function retryTaskLetter({ knex, schema }: LetterAccess, letter: DeadLetterRow, by: string): Promise<string> {
  return knex.transaction(async (trx) => {
    const locked = await getDeadLetter(trx, schema, letter.id, true);
    if (locked?.status !== 'open') throw new UsageError(`#${letter.id} is no longer open`);
    const copy = taskOf(letter) as StoredTaskCopy | null;
    const done = await requeueDeadTask(trx, schema, letter.taskId, copy);
    if (done.action === 'not-dead') throw new UsageError(`task #${done.taskId} is ${done.status}, not dead: nothing to retry (discard the letter if it is settled)`);
    const what = done.action === 'requeued' ? `task #${done.taskId} queued again` : `task #${letter.taskId ?? '?'} was gone; queued a copy as task #${done.taskId}`;
    await resolveDeadLetter(trx, schema, letter.id, { status: 'retried', by, resolution: what });
    const moved = copy ? await changedSince(trx, schema, copy) : [];
    return `${what}${moved.length > 0 ? ` (note: ${copy!.entity} ${copy!.key} has changed since in ${moved.join(', ')}; this one carries older values for ${copy!.target})` : ''}`;
  });
}

/**
 * The task's fields whose canonical value has moved on since it was queued.
 * (Carried-out tasks leave the outbox, so later writes are not counted there:
 * the canonical record is what they wrote.)
 */
async function changedSince(trx: Knex.Transaction, schema: string, task: StoredTaskCopy): Promise<string[]> {
  const record = await getRecord(trx, schema, task.entity, task.key);
  if (!record || typeof task.fields !== 'object' || task.fields === null) return [];
  return Object.entries(task.fields as Record<string, unknown>)
    .filter(([field, value]) => JSON.stringify(record.fields[field] ?? null) !== JSON.stringify(value ?? null))
    .map(([field]) => field);
}

/** Runs event letters through the pipeline's own resolve stage, built once from the current configuration. */
export class EventRetrier {
  private deps: Promise<ResolveStageDeps> | null = null;

  constructor(private readonly access: LetterAccess, private readonly env: NodeJS.ProcessEnv = process.env) {}

  async retry(letter: DeadLetterRow, by: string): Promise<string> {
    const { knex, schema } = this.access;
    const batch = this.batchOf(letter);
    const [{ max }] = await knex.withSchema(schema).table('dead_letters').max('id as max');
    await resolveBatch(batch, await this.resolveDeps());
    const again: DeadLetterRow[] = await knex.withSchema(schema).table('dead_letters').where('id', '>', max ?? 0)
      .andWhere({ system: letter.system, position: letter.position }).orderBy('id').select('id', 'error')
      .then((rows: Array<{ id: string; error: string }>) => rows.map((r) => ({ id: String(r.id), error: r.error }) as DeadLetterRow));
    const what = again.length > 0
      ? `still failing, parked again as #${again.map((r) => r.id).join(', #')}: ${again[0]!.error}`
      : `resolved (${batch.events.length} event${batch.events.length === 1 ? '' : 's'} re-run through the resolve stage)`;
    await knex.transaction((trx) => resolveDeadLetter(trx, schema, letter.id, { status: 'retried', by, resolution: what }));
    return what;
  }

  async close(): Promise<void> {
    if (this.deps) await (await this.deps).dedup?.close();
  }

  private resolveDeps(): Promise<ResolveStageDeps> {
    const { knex: store, schema, loaded } = this.access;
    this.deps ??= (async () => {
      const { config } = loaded;
      const registry = compileMappings(config.mappings);
      return {
        store, schema, registry,
        rules: compileRules(config.entities, loaded.version, config.cutovers),
        dedup: await createDedup(loaded, store, this.env, silentLogger()),
        originOf: (system: string) => config.systems[system]?.apply.origin ?? null,
        writableFields: writableFieldsOf(registry),
        metrics: new PipelineMetrics(null),
        logger: silentLogger(),
      };
    })();
    return this.deps;
  }

  /** A one-event batch: the stored event, or the raw Kafka message decoded again as the Kafka source would. */
  private batchOf(letter: DeadLetterRow): ChangeBatch {
    const event = eventOf(letter) as ChangeEvent | null;
    if (event) return { system: event.source.system, events: [event], position: event.source.position, sourceTimeMs: event.source.commitTimeMs };
    const raw = letter.payload as { topic?: string; partition?: number; offset?: string; timestamp?: string; key?: string | null; value?: string | null } | null;
    const system = letter.system;
    const spec = system ? this.access.loaded.config.systems[system] : undefined;
    if (!raw || typeof raw.topic !== 'string' || raw.offset === undefined || !spec?.debezium) {
      throw new UsageError(`#${letter.id} holds neither a change event nor a Kafka message of a Debezium-captured system: it cannot be re-run`);
    }
    const config = this.access.loaded.config;
    const tables = debeziumTables(config, system!, compileMappings(config.mappings).tablesOf(system!));
    const bytes = (text: string | null | undefined) => (text ? Buffer.from(text, 'base64') : null);
    const message = { key: bytes(raw.key), value: bytes(raw.value), offset: String(raw.offset), timestamp: String(raw.timestamp ?? '0'), attributes: 0, headers: {} };
    const [chunk] = assemble(raw.topic, Number(raw.partition ?? 0), [message], {
      system: system!, maxBatchEvents: 1, heartbeatTopicPrefix: spec.debezium.heartbeatTopicPrefix, tables: new Set(tables), databaseIsSchema: debeziumLayoutOf(config, system!).databaseIsSchema,
    });
    if (!chunk) throw new UsageError(`#${letter.id}: the stored message decodes to nothing`);
    return chunk.batch;
  }
}

/** Gives a letter up for good and logs it in the conflict log; returns the conflict-log id. */
export async function discardLetter({ knex, schema, loaded }: LetterAccess, registry: MappingRegistry, letter: DeadLetterRow, by: string, reason: string): Promise<string> {
  if (!reason.trim()) throw new UsageError('a discard needs a reason');
  return knex.transaction(async (trx) => {
    const locked = await getDeadLetter(trx, schema, letter.id, true);
    if (locked?.status !== 'open') throw new UsageError(`#${letter.id} is no longer open`);
    const [logged] = await appendConflicts(trx, schema, [discardEntry(letter, registry, by, reason)], loaded.version);
    await resolveDeadLetter(trx, schema, letter.id, { status: 'discarded', by, reason, resolution: `discarded, logged as conflict #${logged}` });
    // The letter of an open exception: the exception is closed and its held task given up, so the record's later changes flow again.
    await discardExceptionOfLetter(trx, schema, letter.id, `letter #${letter.id} discarded by ${by}: ${reason}`);
    return logged!;
  });
}

/** The audit row: the letter's entity and key where known, `*` (the whole change) as the field. */
export function discardEntry(letter: DeadLetterRow, registry: MappingRegistry, by: string, reason: string): ConflictEntry {
  const task = taskOf(letter);
  const event = eventOf(letter);
  let entity = task ? String(task.entity) : '';
  if (!task && event) {
    try {
      entity = registry.forTable(event.source.system, event.source.schema ?? 'public', event.source.table).entity;
    } catch {
      entity = ''; // the table is not mapped (often why the event was parked)
    }
  }
  return {
    entity,
    key: task ? String(task.key) : '',
    field: '*',
    system: letter.system ?? '',
    table: letter.table ?? '',
    position: letter.position ?? '',
    txId: event?.source.txId ?? null,
    commitTimeMs: event?.source.commitTimeMs ?? letter.createdAt.getTime(),
    correlationId: letter.correlationId ?? `dead-letter-${letter.id}`,
    attempted: task ? (task.fields as ConflictEntry['attempted']) ?? null : null,
    before: undefined,
    current: undefined,
    kept: undefined,
    rule: `dead letter #${letter.id} discarded by ${by}: ${reason}`,
    outcome: 'discarded',
    patch: [],
    corrected: false,
  };
}
