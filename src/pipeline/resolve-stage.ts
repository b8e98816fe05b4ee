import type { Knex } from 'knex';
import { eventIdOf, type ChangeBatch, type ChangeEvent } from '../capture';
import { resolve, type Decision, type RuleBook } from '../conflict';
import { errorMessage, TandemError, UnknownTableError } from '../errors';
import { isTandemOrigin, type ApplyTask, type Dedup } from '../apply';
import type { Logger } from '../log';
import {
  appendConflicts, appendJournal, crosswalkMapKey, enqueueTasks, KnexCrosswalk, markSnapshotted, parkDeadLetters, readRecordsForUpdate, recordMapKey, releaseTasks,
  saveCheckpoint, spillTasks, writeIntent, writeRecords, type ChainAnchor, type DeadLetter, type NewTask, type RecordKey, type TaskLease,
} from '../store';
import { newCanonicalKey, type CanonicalChange, type CanonicalRecord, type MappingRegistry } from '../transform';
import type { EventMarks } from './event-marks';
import type { HandOff } from './hand-off';
import {
  carryOutMerges, correctRedirected, deleteEventOf, mergeRowOf, priorReferences, redirectMergedReferences, repointMerges, tableMerges,
  type MergeRow, type MergeSettings,
} from './merge-stage';
import type { PipelineMetrics } from './metrics';

export interface ResolveStageDeps {
  store: Knex;
  schema: string;
  registry: MappingRegistry;
  rules: RuleBook;
  dedup: Dedup | null;
  /** Replication origin tandem writes into each system with: events carrying it are echoes. */
  originOf: (system: string) => string | null;
  /** Canonical fields each system can be written, per entity. */
  writableFields: (entity: string) => ReadonlyMap<string, ReadonlySet<string>>;
  metrics: PipelineMetrics;
  logger: Logger;
  /** The crosswalk shared with the apply stage (its cache of committed links). */
  crosswalk?: KnexCrosswalk;
  /** Whether resolved changes are journalled (`journal.enabled`, default true). */
  journal?: boolean;
  /** Signs checkpoints of the conflict log as it grows (`audit`); woken after a commit to publish them. */
  audit?: { checkpointer: ChainAnchor; wake(): void };
  /** The apply stages of this process: tasks for them are leased in the resolve transaction and handed over after commit. */
  handOff?: HandOff;
  /** Marks resolved events in the dedup store, off the resolve stage's path (see event-marks.ts). */
  eventMarks?: EventMarks;
  /** Record merges (`entities.<e>.merge`); absent or null when no entity merges. */
  merges?: MergeSettings | null;
}

/**
 * Turns one capture batch into durable effects: mapped, keyed, resolved
 * against the canonical records, and written with the conflicts, the tasks
 * (one apply intent, or outbox rows) and the checkpoint in one state-store
 * transaction. `turn`: the previous batch of the source, when the two
 * overlap (see BatchTurn).
 */
export async function resolveBatch(batch: ChangeBatch, deps: ResolveStageDeps, turn: BatchTurn = ALONE): Promise<void> {
  try {
    await resolveInTurn(batch, deps, turn);
  } finally {
    // Failed or not, the next batch must not wait for signals this one will never give.
    turn.locked();
    turn.created(new Set());
  }
}

async function resolveInTurn(batch: ChangeBatch, deps: ResolveStageDeps, turn: BatchTurn): Promise<void> {
  const { metrics } = deps;
  metrics.eventsCaptured(batch.system, batch.events.length);
  const { changes, deadLetters, echoes, mergeRows } = mapEvents(batch, deps);
  deadLetters.push(...undecodableLetters(batch));
  metrics.eventsSkipped(batch.system, 'echo', echoes);
  const fresh = await dropAlreadySeen(changes, deps);
  metrics.eventsSkipped(batch.system, 'redelivered', changes.length - fresh.length);

  // Backpressure from busy apply stages, so their tasks can be handed over instead of polled for.
  if (fresh.length > 0) await deps.handOff?.waitForRoom(HAND_OFF_WAIT_MS);
  // The previous batch of this source holds its record locks: from here this one may only follow it.
  await turn.previousLocked;
  const committed: Array<{ remember(): void }> = [];
  const outcome = await deps.store.transaction(async (trx) => {
    const crosswalk = (deps.crosswalk ?? new KnexCrosswalk(deps.store, deps.schema)).withTransaction(trx);
    committed.push(crosswalk.committedLinks());
    await resolveKeys(fresh, crosswalk);
    const merging = deps.merges ?? null;
    const redirects = merging ? await redirectMergedReferences(trx, deps.schema, fresh, merging) : [];
    const { records, existing } = await readRecordsAfter(turn, trx, deps.schema, fresh.map((c) => ({ entity: c.entity, key: c.key! })));
    // Merges take further locks (a loser's row) later on: the next batch waits until this one is done.
    if (!merging) turn.locked();
    const locked = new Map(records);
    const prior = merging ? priorReferences(fresh, locked, merging, recordMapKey) : [];
    const decided = decideInOrder(fresh, records, deps);
    correctRedirected(redirects, decided);
    const decisions = decided.map((d) => d.decision);
    // A record every change of which was a redelivery is still the one read: nothing to write.
    const touched = [...records].filter(([mapKey, record]) => record !== locked.get(mapKey)).map(([, record]) => record!);
    await writeRecords(trx, deps.schema, touched, existing);
    turn.created(new Set(touched.map((r) => recordMapKey(r.entity, r.key)).filter((k) => !existing.has(k))));
    const merged = merging ? await mergesOf(fresh, prior, mergeRows, merging, crosswalk) : { merges: [], letters: [] };
    deadLetters.push(...merged.letters);
    const mergeEffects = merging ? await carryOutMerges(trx, deps.schema, merged.merges, merging, deps.writableFields) : { conflicts: [], tasks: [] };
    // The rest is ordered across batches (journal and conflict order, task ids, checkpoints): after the previous batch commits.
    await turn.previousDone;
    // After the locks: a record's journal rows then come in the order its changes were resolved.
    if (deps.journal !== false) await appendJournal(trx, deps.schema, batch.system, fresh);
    const conflicts = [...decisions.flatMap((d) => d.conflicts), ...mergeEffects.conflicts];
    await appendConflicts(trx, deps.schema, conflicts, deps.rules.version, deps.audit?.checkpointer);
    const tasks = [
      ...decided.flatMap(({ decision, change }) => tasksOf(decision, change.event.correlationId, change.event.source.commitTimeMs)),
      ...mergeEffects.tasks,
    ];
    const handing = await writeTasks(trx, tasks, deps);
    await parkDeadLetters(trx, deps.schema, deadLetters);
    await markSnapshotted(trx, deps.schema, batch.system, batch.completedSnapshots ?? [], batch.position);
    await saveCheckpoint(trx, deps.schema, batch.system, batch.position, batch.sourceTimeMs);
    return { decisions, conflicts, handing };
  });

  for (const links of committed) links.remember();
  // Committed: the apply stages may start on them now.
  if (outcome.handing) await handOver(outcome.handing, deps.handOff!, deps);
  if (outcome.conflicts.length > 0) deps.audit?.wake();
  for (const letter of deadLetters) deps.logger.warn('event parked in the dead-letter store', { correlationId: letter.correlationId, error: letter.error });
  for (const conflict of outcome.conflicts) {
    deps.logger.info('conflict', { correlationId: conflict.correlationId, entity: conflict.entity, key: conflict.key, field: conflict.field, system: conflict.system, rule: conflict.rule, decision: conflict.outcome });
  }
  metrics.batchResolved(batch, outcome.decisions, outcome.conflicts, deadLetters.length);
  const resolvedIds = fresh.map((c) => eventIdOf(c.event));
  if (deps.eventMarks) await deps.eventMarks.mark(resolvedIds);
  else if (deps.dedup) await deps.dedup.markEvents(resolvedIds);
}

/**
 * Where a batch stands relative to the previous batch of its source when
 * the two are resolved overlapping (the source loop starts a batch while the
 * one before it finishes, see source-loop.ts). The overlap is safe because
 * of the order of the steps:
 * 1. a batch starts its transaction once the previous one holds its record
 *    locks, so a record both touch is read only after the previous batch
 *    committed it;
 * 2. a record this batch finds missing that the previous batch is creating
 *    is read again once the previous batch committed it;
 * 3. everything ordered across batches (journal, conflict log, task ids,
 *    dead letters, checkpoint, commit, hand-over) waits for the previous
 *    batch to be done, and fails with it.
 */
export interface BatchTurn {
  /** Resolves once the previous batch holds its record locks (or has ended). */
  previousLocked: Promise<void>;
  /** The records the previous batch is creating (map keys); resolves once they are known (or it has ended). */
  previousCreated: Promise<ReadonlySet<string>>;
  /** Resolves once the previous batch is committed and handed over; rejects if it failed. */
  previousDone: Promise<void>;
  /** Tells the next batch this one holds its record locks. */
  locked(): void;
  /** Tells the next batch which records this one creates. */
  created(keys: ReadonlySet<string>): void;
}

/** A batch resolved on its own (the CLI, tests): nothing to wait for. */
const ALONE: BatchTurn = {
  previousLocked: Promise.resolve(), previousCreated: Promise.resolve(new Set()), previousDone: Promise.resolve(), locked: () => {}, created: () => {},
};

/**
 * `readRecordsForUpdate`, and for records it finds missing that the
 * previous batch of the source is creating: once that batch committed, those
 * read again (step 2 of BatchTurn).
 */
async function readRecordsAfter(turn: BatchTurn, trx: Knex.Transaction, schema: string, keys: RecordKey[]) {
  const read = await readRecordsForUpdate(trx, schema, keys);
  const missing = keys.filter((k) => !read.existing.has(recordMapKey(k.entity, k.key)));
  if (missing.length === 0) return read;
  const theirs = await turn.previousCreated;
  const created = missing.filter((k) => theirs.has(recordMapKey(k.entity, k.key)));
  if (created.length === 0) return read;
  await turn.previousDone;
  const again = await readRecordsForUpdate(trx, schema, created);
  for (const mapKey of again.existing) {
    read.records.set(mapKey, again.records.get(mapKey)!);
    read.existing.add(mapKey);
  }
  return read;
}

/** Longest wait for room in the apply stages' hand-off queues before a batch is resolved anyway. */
const HAND_OFF_WAIT_MS = 5_000;

/** Tasks committed for this process's apply stages, and the intent that holds them (`intent` mode). */
interface Handing {
  tasks: ApplyTask[];
  intentId?: string;
}

/**
 * Writes a batch's tasks in the resolve transaction.
 * - `intent` mode: the tasks of every target whose apply stage runs here go
 *   into one intent row for the batch, and to the stages after commit (or,
 *   for a stage with no room, are read from the intent later).
 * - `lease` mode: the tasks of targets whose stage runs here and has room
 *   are outbox rows leased to this instance, handed over after commit.
 * The others become pending outbox rows, claimed by polling.
 */
async function writeTasks(trx: Knex.Transaction, tasks: NewTask[], deps: ResolveStageDeps): Promise<Handing | null> {
  const handOff = deps.handOff;
  const createdAtMs = Date.now();
  if (handOff?.mode === 'intent') {
    const served = tasks.filter((t) => handOff.serves(t.target));
    await enqueueTasks(trx, deps.schema, tasks.filter((t) => !handOff.serves(t.target)));
    if (served.length === 0) return null;
    const { intentId, ids } = await writeIntent(trx, deps.schema, served);
    return { intentId, tasks: served.map((t, i) => ({ ...t, id: ids[i]!, attempts: 0, createdAtMs, intent: intentId })) };
  }
  const inProcess = handOff ? targetsWithRoom(tasks, handOff) : new Set<string>();
  const lease: TaskLease | undefined = handOff && inProcess.size > 0
    ? { owner: handOff.owner, leaseMs: handOff.leaseMs, leased: (t) => inProcess.has(t.target) }
    : undefined;
  const ids = await enqueueTasks(trx, deps.schema, tasks, lease);
  if (!lease) return null;
  return { tasks: tasks.flatMap((t, i) => (lease.leased(t) ? [{ ...t, id: ids[i]!, attempts: 0, createdAtMs }] : [])) };
}

/** The targets whose apply stage runs in this process and has room for all of the batch's tasks for it. */
function targetsWithRoom(tasks: readonly NewTask[], handOff: HandOff): Set<string> {
  const perTarget = new Map<string, number>();
  for (const t of tasks) perTarget.set(t.target, (perTarget.get(t.target) ?? 0) + 1);
  return new Set([...perTarget].filter(([target, n]) => handOff.accepts(target, n)).map(([target]) => target));
}

/**
 * Gives committed tasks to their apply stages. Those of a stage that stopped
 * meanwhile (the pipeline is stopping) go to the outbox for the next claim.
 */
async function handOver(handing: Handing, handOff: HandOff, deps: ResolveStageDeps): Promise<void> {
  if (handing.intentId === undefined) {
    const refused = handOff.deliver(handing.tasks);
    await releaseTasks(deps.store, deps.schema, refused.map((t) => t.id), handOff.owner);
    return;
  }
  handOff.ledger.track(handing.intentId, handing.tasks.map((t) => t.id));
  const refused = handOff.deliverIntent(handing.intentId, handing.tasks);
  if (refused.length === 0) return;
  await spillTasks(deps.store, deps.schema, refused, null);
  handOff.ledger.settle(refused);
}

interface Mapped {
  changes: CanonicalChange[];
  deadLetters: DeadLetter[];
  echoes: number;
  /** Rows of merge tables (`merge: { table }`): merges, not records. */
  mergeRows: MergeRow[];
}

/** Merges the batch shows: by re-pointed references (skipping redeliveries) and by merge-table rows. */
async function mergesOf(fresh: CanonicalChange[], prior: Array<Record<string, string | null>>, rows: MergeRow[], settings: MergeSettings, crosswalk: KnexCrosswalk) {
  const byRepoint = repointMerges(fresh, prior, settings).flatMap((merge) => {
    const event = deleteEventOf(merge, fresh);
    return event ? [{ ...merge, event }] : [];
  });
  const byTable = await tableMerges(rows, crosswalk);
  return { merges: [...byRepoint, ...byTable.merges], letters: byTable.letters };
}

function mapEvents(batch: ChangeBatch, deps: ResolveStageDeps): Mapped {
  const mapped: Mapped = { changes: [], deadLetters: [], echoes: 0, mergeRows: [] };
  const origin = deps.originOf(batch.system);
  for (const event of batch.events) {
    if (origin !== null && event.source.origin !== null && isTandemOrigin(origin, event.source.origin)) {
      mapped.echoes++;
      continue;
    }
    const mergeRow = mergeRowOf(deps.merges ?? null, event);
    if (mergeRow !== null) {
      if ('event' in mergeRow) mapped.mergeRows.push(mergeRow);
      else if (mergeRow.invalid !== '') mapped.deadLetters.push(eventLetter(event, 'MERGE_ROW_INVALID', mergeRow.invalid));
      continue;
    }
    try {
      const mapping = deps.registry.forTable(batch.system, event.source.schema ?? 'public', event.source.table);
      if (event.op === 't') {
        if (mapping.onTruncate === 'dead-letter') mapped.deadLetters.push(eventLetter(event, 'TRUNCATE_NOT_APPLIED', `TRUNCATE of ${mapping.table} is not propagated (onTruncate: dead-letter)`));
        continue;
      }
      mapped.changes.push(mapping.toCanonical(event));
    } catch (error) {
      const code = error instanceof TandemError ? error.code : 'EVENT_UNMAPPABLE';
      if (!(error instanceof TandemError)) deps.logger.error('unexpected mapping failure', { correlationId: event.correlationId, error: errorMessage(error) });
      mapped.deadLetters.push(eventLetter(event, code, errorMessage(error)));
      if (error instanceof UnknownTableError) deps.logger.warn(errorMessage(error), { correlationId: event.correlationId });
    }
  }
  return mapped;
}

/** Messages the source could not decode, parked with the batch (raw bytes and coordinates as the payload). */
function undecodableLetters(batch: ChangeBatch): DeadLetter[] {
  return (batch.undecodable ?? []).map((m) => ({
    kind: 'event', system: batch.system, table: m.table, position: m.position,
    correlationId: `${batch.system}@${m.position}`, errorCode: m.errorCode, error: m.error, payload: m.raw,
  }));
}

function eventLetter(event: ChangeEvent, errorCode: string, error: string): DeadLetter {
  const { system, schema, table, position } = event.source;
  return { kind: 'event', system, table: `${schema ?? ''}.${table}`, position, correlationId: event.correlationId, errorCode, error, payload: event };
}

/** Redis remembers events already resolved: a redelivered batch costs one round trip. */
async function dropAlreadySeen(changes: CanonicalChange[], deps: ResolveStageDeps): Promise<CanonicalChange[]> {
  if (!deps.dedup || deps.dedup.kind !== 'redis' || changes.length === 0) return changes;
  const seen = await deps.dedup.seenEvents(changes.map((c) => eventIdOf(c.event)));
  return seen.size === 0 ? changes : changes.filter((c) => !seen.has(eventIdOf(c.event)));
}

/**
 * Fills each change's canonical key and replaces reference fields' local keys
 * by canonical keys, linking keys seen for the first time.
 */
async function resolveKeys(changes: CanonicalChange[], crosswalk: KnexCrosswalk): Promise<void> {
  const wanted: Array<{ entity: string; system: string; localKey: string }> = [];
  for (const change of changes) {
    wanted.push({ entity: change.entity, system: change.system, localKey: change.localKey });
    for (const ref of Object.values(change.refs)) if (ref.localKey !== null) wanted.push({ entity: ref.entity, system: change.system, localKey: ref.localKey });
  }
  const known = await crosswalk.canonicalKeysOrLink(wanted, newCanonicalKey);
  const lookup = (entity: string, system: string, localKey: string) => known.get(crosswalkMapKey(entity, system, localKey))!;
  for (const change of changes) {
    change.key = lookup(change.entity, change.system, change.localKey);
    if (!change.after) continue;
    for (const [field, ref] of Object.entries(change.refs)) {
      change.after[field] = ref.localKey === null ? null : lookup(ref.entity, change.system, ref.localKey);
    }
  }
}

/**
 * The decision for each change in order, each against the record as the
 * previous one left it (the map is updated as it goes). Shared with
 * `tandem replay`, which feeds journalled changes through the same path.
 */
export function decideInOrder(
  changes: CanonicalChange[],
  records: Map<string, CanonicalRecord | null>,
  deps: Pick<ResolveStageDeps, 'rules' | 'writableFields'>,
): Array<{ decision: Decision; change: CanonicalChange }> {
  return changes.map((change) => {
    const mapKey = recordMapKey(change.entity, change.key!);
    const decision = resolve(records.get(mapKey) ?? null, change, {
      rules: deps.rules.entity(change.entity),
      fieldsBySystem: deps.writableFields(change.entity),
    });
    records.set(mapKey, decision.record);
    return { decision, change };
  });
}

/** The outbox tasks that carry out a decision's planned writes (also used by `tandem conflicts resolve`). */
export function tasksOf(decision: Decision, correlationId: string, commitTimeMs?: number): NewTask[] {
  const { record } = decision;
  return decision.writes.map((write) => ({
    target: write.system,
    entity: record.entity,
    key: record.key,
    op: write.op,
    fields: write.fields,
    expected: write.expected,
    record: record.fields,
    reason: write.reason,
    correlationId,
    commitTimeMs: commitTimeMs ?? null,
  }));
}
