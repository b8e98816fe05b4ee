/**
 * `SqlTarget.applyBatch`: the tasks of one entity applied with a few
 * statements instead of a few per task. One crosswalk query per entity
 * involved, one target transaction (lock all rows, plan each task, write in
 * bulk), one call to link new keys after commit. The effect is that of
 * `apply` on each task in turn; when the transaction fails (one row breaks a
 * constraint, a deadlock), it is rolled back and every task it held is
 * applied on its own, so a poison task fails alone.
 */
import type { Knex } from 'knex';
import type { Row } from '../capture';
import type { Mapping } from '../transform';
import { deterministicUuid } from './deterministic-uuid';
import type { ApplyOutcome, ApplyTask } from './task';
import type { BatchResult } from './target';
import { BatchCrosswalk } from './sql-batch-crosswalk';
import { deleteRows, insertRows, lockRows, updateRows, type LockedRows, type RowUpdate } from './sql-bulk-rows';
import type { SqlType } from './sql-dialect';
import { isTransientDbError, sqlServerErrorNumber, toApplyError } from './sql-errors';
import { isAlreadyApplied, planUpdate } from './sql-plan';
import { keyText } from './refs';
import type { TableScope } from './sql-rows';
import {
  keyOfRecord, omit, recordRow, singleKeyColumn, upsertInput, type SqlApplyContext, type UpsertPlanInput,
} from './upsert-input';

export type { BatchResult } from './target';

/** What the bulk path needs of the `SqlTarget` it serves. */
export interface BatchHost {
  system: string;
  type: SqlType;
  db: Knex;
  conditional: boolean;
  apply(task: ApplyTask, ctx: SqlApplyContext): Promise<ApplyOutcome>;
  /** A database-keyed insert (adopting the row of an earlier attempt), inside `scope`'s transaction. */
  insertGenerated(scope: TableScope, values: Row, input: UpsertPlanInput): Promise<ApplyOutcome>;
  /** The key allocated for a record (stored before use), for mappings with an allocated key. */
  allocatedKeyRow(task: ApplyTask, ctx: SqlApplyContext): Promise<Row>;
  /** PostgreSQL: column → type to cast bulk values to (cached per table). */
  columnTypes(scope: TableScope): Promise<Map<string, string>>;
}

/** A task's share of the batch transaction; `index` is its place in the batch. */
type Work =
  | { kind: 'delete'; index: number; task: ApplyTask; localKey: string }
  | { kind: 'keyed'; index: number; task: ApplyTask; input: UpsertPlanInput; localKey: string; keyRow: Row; newRow: () => Promise<Row>; link: boolean }
  | { kind: 'generated'; index: number; task: ApplyTask; input: UpsertPlanInput; values: Row };
type KeyedWork = Extract<Work, { kind: 'keyed' }>;

/** What the batch's tasks settle to; unset entries are still to be written. */
type Results = Array<BatchResult | undefined>;

interface Batch {
  host: BatchHost;
  tasks: ApplyTask[];
  /** The caller's context. */
  ctx: SqlApplyContext;
  /** The same, with the batch's crosswalk. */
  batchCtx: SqlApplyContext;
  crosswalk: BatchCrosswalk;
  results: Results;
}

export async function applyBulk(host: BatchHost, tasks: ApplyTask[], ctx: SqlApplyContext): Promise<BatchResult[]> {
  // Exception write-backs touch two columns of a known row: one at a time, in order with the rest.
  if (tasks.some((t) => t.reason === 'exception')) return applyEach(host, tasks, ctx);
  const results: BatchResult[] = [];
  // A record twice in one batch: its tasks go in separate runs, in order.
  for (const run of runsOfDistinctKeys(tasks)) results.push(...(await applyRun(host, run, ctx)));
  return results;
}

async function applyRun(host: BatchHost, tasks: ApplyTask[], ctx: SqlApplyContext): Promise<BatchResult[]> {
  if (tasks.length <= 1 || refersToItself(tasks, ctx.mapping)) return applyEach(host, tasks, ctx);
  const crosswalk = new BatchCrosswalk(ctx.crosswalk);
  const batch: Batch = { host, tasks, ctx, batchCtx: { ...ctx, crosswalk }, crosswalk, results: new Array(tasks.length) };
  try {
    await preload(batch);
  } catch (error) {
    return tasks.map((task) => failed(batch, task, error));
  }
  const work = await prepare(batch);
  if (hasKeyCollision(work)) return applyEach(host, tasks, ctx); // two records, one row: order matters
  if (work.length > 0) await write(batch, work);
  return batch.results.map((r, i) => r ?? failed(batch, tasks[i] as ApplyTask, new Error('task left unsettled')));
}

/** `apply` on each task in turn. */
async function applyEach(host: BatchHost, tasks: ApplyTask[], ctx: SqlApplyContext): Promise<BatchResult[]> {
  const results: BatchResult[] = [];
  for (const task of tasks) results.push(await applyOne(host, task, ctx));
  return results;
}

async function applyOne(host: BatchHost, task: ApplyTask, ctx: SqlApplyContext): Promise<BatchResult> {
  try {
    return { task, outcome: await host.apply(task, ctx) };
  } catch (error) {
    return { task, error };
  }
}

// ------------------------------------------------------------------ crosswalk

/** One query for the tasks' own local keys, one per entity their reference fields name. */
async function preload(batch: Batch): Promise<void> {
  const { host, tasks, ctx, crosswalk } = batch;
  const refs = referencedKeys(ctx.mapping, tasks);
  await Promise.all([
    crosswalk.preload(ctx.mapping.entity, host.system, tasks.map((t) => t.key)),
    ...[...refs].map(([entity, keys]) => crosswalk.preload(entity, host.system, [...keys])),
  ]);
}

/** Ref entity → canonical keys named in the tasks' fields, expected values and records. */
function referencedKeys(mapping: Mapping, tasks: ApplyTask[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const binding of mapping.fields) {
    if (!binding.ref) continue;
    const keys = out.get(binding.ref) ?? new Set<string>();
    for (const task of tasks) {
      for (const fields of [task.fields, task.expected, task.record]) {
        const value = fields[binding.field];
        if (value !== undefined && value !== null) keys.add(keyText(value));
      }
    }
    out.set(binding.ref, keys);
  }
  return out;
}

/** A task referring to another record of the batch's entity and batch: it must see that one linked first. */
function refersToItself(tasks: ApplyTask[], mapping: Mapping): boolean {
  const keys = referencedKeys(mapping, tasks).get(mapping.entity);
  return keys !== undefined && tasks.some((t) => keys.has(t.key));
}

// ------------------------------------------------------------------- planning

/** Settles what needs no write (missing references, deletes of unknown rows); the rest is work. */
async function prepare(batch: Batch): Promise<Work[]> {
  const work: Work[] = [];
  for (const [index, task] of batch.tasks.entries()) {
    try {
      const w = await prepareOne(batch, task, index);
      if ('status' in w) batch.results[index] = { task, outcome: w };
      else work.push(w);
    } catch (error) {
      batch.results[index] = failed(batch, task, error);
    }
  }
  return work;
}

async function prepareOne(batch: Batch, task: ApplyTask, index: number): Promise<Work | ApplyOutcome> {
  const { host, batchCtx: ctx } = batch;
  const localKey = (await ctx.crosswalk.localKeys(task.entity, host.system, [task.key])).get(task.key) ?? null;
  if (task.op === 'delete') return localKey === null ? { status: 'deleted', localKey: null } : { kind: 'delete', index, task, localKey };
  const input = await upsertInput(host.system, host.conditional, task, ctx);
  if (localKey !== null) {
    const keyRow = ctx.mapping.keyRow(localKey);
    const newRow = async (): Promise<Row> => ({ ...(await recordRow(host.system, task, ctx)), ...keyRow });
    return { kind: 'keyed', index, task, input, localKey, keyRow, newRow, link: false };
  }
  const row = await recordRow(host.system, task, ctx);
  if (ctx.mapping.keyGenerated === 'allocated') {
    // Allocated and stored before the batch transaction (key-allocation.ts); linked after commit like any new key.
    const keyRow = await host.allocatedKeyRow(task, batch.ctx);
    return { kind: 'keyed', index, task, input, localKey: ctx.mapping.localKeyOf(keyRow), keyRow, newRow: async () => ({ ...row, ...keyRow }), link: true };
  }
  return newRecordWork(batch, input, index, row);
}

/** A record the target has no known row for: where its row is (or will be). */
function newRecordWork(batch: Batch, input: UpsertPlanInput, index: number, row: Row): Work {
  const { mapping } = batch.ctx;
  const { task } = input;
  const keyed = (keyRow: Row, newRow: Row): Work => ({
    kind: 'keyed', index, task, input, localKey: mapping.localKeyOf(keyRow), keyRow, newRow: async () => newRow, link: true,
  });
  switch (mapping.keyGenerated) {
    case 'none':
      return keyed(keyOfRecord(mapping, row, task), row);
    case 'uuid': {
      const keyRow = { [singleKeyColumn(mapping, task)]: deterministicUuid(batch.host.system, task.entity, task.key) };
      return keyed(keyRow, { ...row, ...keyRow });
    }
    case 'database':
      return { kind: 'generated', index, task, input, values: omit(row, mapping.keyColumns) };
    case 'allocated':
      throw new Error('allocated keys are prepared before newRecordWork');
  }
}

/** Two tasks bound for one row (a natural key shared, a delete and an insert): not for one set-wise pass. */
function hasKeyCollision(work: Work[]): boolean {
  const keys = work.flatMap((w) => (w.kind === 'generated' ? [] : [w.localKey]));
  return new Set(keys).size !== keys.length;
}

// -------------------------------------------------------------------- writing

async function write(batch: Batch, work: Work[]): Promise<void> {
  const { host, ctx } = batch;
  let settled: Map<number, BatchResult>;
  try {
    settled = await host.db.transaction((trx) => writeAll(batch, { trx, type: host.type, mapping: ctx.mapping }, work));
  } catch (error) {
    await recover(batch, work, error);
    return;
  }
  for (const [index, result] of settled) batch.results[index] = result;
  await linkAfterCommit(batch, work);
}

/** The batch's statements, in one transaction; per-task results to publish once it commits. */
async function writeAll(batch: Batch, scope: TableScope, work: Work[]): Promise<Map<number, BatchResult>> {
  const settled = new Map<number, BatchResult>();
  await writeKeyed(batch, scope, work.filter((w): w is KeyedWork => w.kind === 'keyed'), settled);
  const deletes = work.filter((w) => w.kind === 'delete');
  await deleteRows(scope, deletes.map((w) => scope.mapping.keyRow(w.localKey)));
  for (const w of deletes) settled.set(w.index, { task: w.task, outcome: { status: 'deleted', localKey: w.localKey } });
  for (const w of work) {
    if (w.kind !== 'generated') continue;
    const outcome = await batch.host.insertGenerated(scope, w.values, w.input);
    settled.set(w.index, { task: w.task, outcome });
    if (outcome.localKey !== null) await batch.crosswalk.link(w.task.entity, batch.host.system, outcome.localKey, w.task.key);
  }
  return settled;
}

/** Rows with known keys: one locking read, then updates and inserts in bulk. */
async function writeKeyed(batch: Batch, scope: TableScope, work: KeyedWork[], settled: Map<number, BatchResult>): Promise<void> {
  const columns = [...new Set(work.flatMap((w) => w.input.bindings.map((b) => b.column)))];
  const locked = await lockRows(scope, columns, work.map((w) => w.keyRow));
  const updates: RowUpdate[] = [];
  const inserts: Row[] = [];
  for (const w of work) {
    try {
      const outcome = await planKeyed(batch, w, locked, updates, inserts);
      settled.set(w.index, { task: w.task, outcome });
      if (w.link) await batch.crosswalk.link(w.task.entity, batch.host.system, w.localKey, w.task.key);
    } catch (error) {
      settled.set(w.index, failed(batch, w.task, error)); // planning only: nothing of it reached the target
    }
  }
  await updateRows(scope, updates, locked.kinds, () => batch.host.columnTypes(scope));
  await insertRows(scope, inserts);
}

/** As `apply` decides for one row: already there, superseded, an update, or an insert. */
async function planKeyed(batch: Batch, w: KeyedWork, locked: LockedRows, updates: RowUpdate[], inserts: Row[]): Promise<ApplyOutcome> {
  const values = locked.byKey.get(w.localKey);
  if (!values) {
    // The existence owner deleted it: a change propagated from elsewhere does not resurrect it (as in SqlTarget.upsertKnown).
    if (!w.link && batch.ctx.ownsExistence && w.task.reason === 'propagate') return { status: 'superseded', localKey: w.localKey, fields: [], goneFromOwner: true };
    inserts.push(await w.newRow());
    return { status: 'applied', localKey: w.localKey };
  }
  const { input } = w;
  const plan = planUpdate({
    bindings: input.bindings, wanted: input.wanted, expected: input.expected,
    current: { values, kinds: locked.kinds }, conditional: batch.host.conditional, refMappings: batch.ctx.refMappings,
  });
  if (isAlreadyApplied(plan)) return { status: 'already-applied', localKey: w.localKey };
  if (Object.keys(plan.write).length === 0) return { status: 'superseded', localKey: w.localKey, fields: plan.superseded };
  updates.push({ where: w.keyRow, set: batch.ctx.mapping.toRow(plan.write) });
  return { status: 'applied', localKey: w.localKey };
}

/** After commit, as `apply` does: a crash before this is what deterministic keys and adoption are for. */
async function linkAfterCommit(batch: Batch, work: Work[]): Promise<void> {
  try {
    await batch.crosswalk.flush();
  } catch (error) {
    for (const w of work) {
      const result = batch.results[w.index];
      if (result?.outcome && (w.kind === 'generated' || (w.kind === 'keyed' && w.link))) batch.results[w.index] = failed(batch, w.task, error);
    }
  }
}

/**
 * The transaction failed and was rolled back. A lost connection fails every
 * task alike (they are retried); anything else may be one task's doing, so
 * each is applied on its own.
 */
async function recover(batch: Batch, work: Work[], error: unknown): Promise<void> {
  const batchWide = isTransientDbError(error) && !isLockConflict(error);
  for (const w of work) {
    batch.results[w.index] = batchWide ? failed(batch, w.task, error) : await applyOne(batch.host, w.task, batch.ctx);
  }
}

const LOCK_CONFLICTS = new Set(['40P01', '40001', '55P03', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

/** SQL Server error numbers: deadlock victim, lock request time out. */
const SQLSERVER_LOCK_CONFLICTS = new Set([1205, 1222]);

function isLockConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && LOCK_CONFLICTS.has(code)) return true;
  const number = sqlServerErrorNumber(error);
  return number !== undefined && SQLSERVER_LOCK_CONFLICTS.has(number);
}

function failed(batch: Batch, task: ApplyTask, error: unknown): BatchResult {
  const { mapping } = batch.ctx;
  const where = { system: batch.host.system, table: mapping.table, entity: task.entity, key: task.key, correlationId: task.correlationId };
  return { task, error: toApplyError(error, where) };
}

/** Consecutive runs of tasks with distinct canonical keys. */
function runsOfDistinctKeys(tasks: ApplyTask[]): ApplyTask[][] {
  const runs: ApplyTask[][] = [];
  let run: ApplyTask[] = [];
  let keys = new Set<string>();
  for (const task of tasks) {
    if (keys.has(task.key)) {
      runs.push(run);
      run = [];
      keys = new Set();
    }
    run.push(task);
    keys.add(task.key);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
