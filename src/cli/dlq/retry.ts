import type { Knex } from 'knex';
import type { ChangeBatch, ChangeEvent } from '../../capture';
import { assemble } from '../../capture/kafka/assemble';
import { compileRules } from '../../conflict';
import { debeziumLayoutOf, debeziumTables } from '../../connectors';
import { errorMessage, UsageError } from '../../errors';
import { silentLogger } from '../../log';
import { PipelineMetrics } from '../../pipeline/metrics';
import { resolveBatch, type ResolveStageDeps } from '../../pipeline/resolve-stage';
import { createDedup, writableFieldsOf } from '../../pipeline/runtime';
import {
  getDeadLetter, getRecord, queryDeadLetters, requeueDeadTask, resolveDeadLetter, type DeadLetterRow, type StoredTaskCopy,
} from '../../store';
import { compileMappings } from '../../transform';
import { EXIT_FAILURE, EXIT_OK } from '../exit';
import { processIo, runReporting, type Io } from '../io';
import { withStateStore, type StateStoreAccess } from '../state-store-access';
import { actor, eventOf, taskOf, toSelection, type DlqFilterOptions, type Selection } from './filters';

export interface DlqRetryOptions extends DlqFilterOptions {
  config: string;
  all?: boolean;
  by?: string;
}

/**
 * `tandem dlq retry <id>... | <filters> | --all`. A task letter's outbox task
 * is put back to pending (attempts reset, due now), or queued afresh from the
 * letter's copy if it is gone. An event letter's event is run through the
 * resolve stage again with the current configuration: it is resolved, or
 * parked again as a new letter if it still cannot be mapped. Either way the
 * letter is marked `retried`, with who, when and what happened.
 */
export async function runDlqRetry(ids: string[], options: DlqRetryOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const selection = toSelection(ids, options, true);
    const by = actor(options.by);
    return withStateStore(options.config, async (access) => {
      const letters = await selectLetters(access, selection);
      let failures = 0;
      const retrier = new EventRetrier(access);
      try {
        for (const letter of letters) {
          try {
            io.out(`#${letter.id}: ${letter.kind === 'task' ? await retryTask(access, letter, by) : await retrier.retry(letter, by)}\n`);
          } catch (error) {
            failures++;
            io.err(`#${letter.id}: not retried: ${errorMessage(error)}\n`);
          }
        }
      } finally {
        await retrier.close();
      }
      io.out(`${letters.length - failures} of ${letters.length} letter${letters.length === 1 ? '' : 's'} retried\n`);
      return failures > 0 ? EXIT_FAILURE : EXIT_OK;
    });
  });
}

/** Given ids must all exist and be open; filters select open letters. */
export async function selectLetters({ knex, schema }: StateStoreAccess, selection: Selection): Promise<DeadLetterRow[]> {
  if ('filter' in selection) return queryDeadLetters(knex, schema, selection.filter, 100_000);
  const letters: DeadLetterRow[] = [];
  for (const id of selection.ids) {
    const letter = await getDeadLetter(knex, schema, id);
    if (!letter) throw new UsageError(`no dead letter #${id}`);
    if (letter.status !== 'open') throw new UsageError(`#${id} is already ${letter.status} (by ${letter.resolvedBy} at ${letter.resolvedAt?.toISOString()})`);
    letters.push(letter);
  }
  return letters;
}

async function retryTask({ knex, schema }: StateStoreAccess, letter: DeadLetterRow, by: string): Promise<string> {
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
class EventRetrier {
  private deps: Promise<ResolveStageDeps> | null = null;

  constructor(private readonly access: StateStoreAccess) {}

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
        dedup: await createDedup(loaded, store, process.env, silentLogger()),
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
