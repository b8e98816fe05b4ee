import { userInfo } from 'node:os';
import type { Knex } from 'knex';
import type { Value } from '../../capture';
import { EXISTENCE_FIELD, keepChoice, planExistenceReview, planReview, type HeldEntry, type ReviewChoice } from '../../conflict';
import { TandemError, UsageError } from '../../errors';
import { tasksOf } from '../../pipeline/resolve-stage';
import { writableFieldsOf } from '../../pipeline/runtime';
import {
  appendConflicts, enqueueTasks, getConflict, getReview, insertReview, lockRecords, recordMapKey, saveRecords,
} from '../../store';
import { compileMappings, type CanonicalRecord } from '../../transform';
import { EXIT_OK } from '../exit';
import { processIo, runReporting, type Io } from '../io';
import { withStateStore, type StateStoreAccess } from '../state-store-access';
import { parseId } from './show';

export interface ResolveOptions {
  config: string;
  keep?: string;
  value?: string;
  /** Who decided; recorded in the log (default: the OS user). */
  by?: string;
}

/**
 * `tandem conflicts resolve <id>`: decides a held (manual-review) entry. In
 * one state-store transaction: the record is locked and the field set, the
 * writes to every system mapping the field are queued, a `resolved` row is
 * chained onto the conflict log and the review is recorded.
 */
export async function runConflictsResolve(id: string, options: ResolveOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const conflictId = parseId(id);
    const given = parseGiven(options);
    const reviewer = options.by ?? process.env.USER ?? userInfo().username;
    const done = await withStateStore(options.config, (access) => access.knex.transaction((trx) => resolveHeld(trx, access, conflictId, given, reviewer)));
    io.out(`resolved #${conflictId}: ${done.entity} ${done.key} ${done.field} = ${JSON.stringify(done.value)}${done.system ? ` (${done.system}'s value)` : ''}\n`);
    io.out(`logged as #${done.resolutionId}; ${done.targets.length} write${done.targets.length === 1 ? '' : 's'} queued${done.targets.length ? ` (${done.targets.join(', ')})` : ''}\n`);
    return EXIT_OK;
  });
}

type Given = { keep: string } | { value: Value };

function parseGiven(options: ResolveOptions): Given {
  if ((options.keep === undefined) === (options.value === undefined)) throw new UsageError('give exactly one of --keep <system> and --value <json>');
  if (options.keep !== undefined) return { keep: options.keep };
  try {
    return { value: JSON.parse(options.value!) as Value };
  } catch {
    throw new UsageError(`--value must be JSON (a string is written with quotes: '"ACME Ltd"'); got ${options.value}`);
  }
}

async function resolveHeld(trx: Knex.Transaction, access: StateStoreAccess, conflictId: string, given: Given, reviewer: string) {
  const { schema, loaded } = access;
  const row = await getConflict(trx, schema, conflictId);
  if (!row) throw new UsageError(`no conflict-log entry #${conflictId}`);
  if (row.decision !== 'held') throw new UsageError(`#${conflictId} is ${row.decision}, not held for review: only held entries can be resolved`);
  const held: HeldEntry = { id: row.id, entity: row.entity, key: row.key, field: row.field, system: row.system, table: row.table, position: row.position, attempted: row.attempted };
  // The record lock also serialises two reviewers resolving the same entry.
  const records = await lockRecords(trx, schema, [{ entity: held.entity, key: held.key }]);
  const record = records.get(recordMapKey(held.entity, held.key))!;
  const review = await getReview(trx, schema, conflictId);
  if (review) throw new UsageError(`#${conflictId} was already resolved by ${review.resolvedBy} at ${review.resolvedAt.toISOString()} (#${review.resolutionConflictId})`);
  if (held.field === EXISTENCE_FIELD) return resolveExistence(trx, access, held, record, given, reviewer);
  if (record.version === 0 || record.deleted) throw new TandemError(`${held.entity} ${held.key} no longer exists, so #${conflictId} has nothing to resolve`);
  const choice = choose(held, record, given);
  const registry = compileMappings(loaded.config.mappings);
  const decision = planReview(record, held, choice, reviewer, writableFieldsOf(registry)(held.entity), Date.now());
  await saveRecords(trx, schema, [decision.record]);
  await enqueueTasks(trx, schema, tasksOf(decision, decision.conflicts[0]!.correlationId));
  const [resolutionId] = await appendConflicts(trx, schema, decision.conflicts, loaded.version);
  await insertReview(trx, schema, { conflictId, decision: choice.decision, system: choice.system, value: choice.value, resolvedBy: reviewer, resolutionConflictId: resolutionId! });
  return { ...held, value: choice.value, system: choice.system, resolutionId: resolutionId!, targets: decision.writes.map((w) => w.system) };
}

/** A held creation (a system that may not create, or an edit of a record its owner deleted): keep it, or remove it from its creator. */
async function resolveExistence(trx: Knex.Transaction, access: StateStoreAccess, held: HeldEntry, record: CanonicalRecord, given: Given, reviewer: string) {
  const { schema, loaded } = access;
  if (!('keep' in given)) throw new UsageError(`#${held.id} is about the existence of ${held.entity} ${held.key}: decide it with --keep ${held.system} (create it) or --keep <another system> (remove it from ${held.system})`);
  if (!(given.keep in loaded.config.systems)) throw new UsageError(`--keep ${given.keep}: no such system`);
  const registry = compileMappings(loaded.config.mappings);
  const decision = planExistenceReview(record, held, given.keep, reviewer, writableFieldsOf(registry)(held.entity), Date.now());
  await saveRecords(trx, schema, [decision.record]);
  await enqueueTasks(trx, schema, tasksOf(decision, decision.conflicts[0]!.correlationId));
  const [resolutionId] = await appendConflicts(trx, schema, decision.conflicts, loaded.version);
  const created = given.keep === held.system;
  await insertReview(trx, schema, { conflictId: held.id, decision: 'kept', system: given.keep, value: created ? held.attempted : null, resolvedBy: reviewer, resolutionConflictId: resolutionId! });
  return { ...held, value: (created ? held.attempted : null) as Value, system: given.keep, resolutionId: resolutionId!, targets: decision.writes.map((w) => w.system) };
}

function choose(held: HeldEntry, record: CanonicalRecord, given: Given): ReviewChoice {
  if ('value' in given) return { decision: 'value', system: null, value: given.value };
  const choice = keepChoice(held, record, given.keep);
  if (typeof choice === 'string') throw new UsageError(choice);
  return choice;
}
