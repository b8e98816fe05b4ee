/**
 * Applies outbox tasks to a SQL database (PostgreSQL, MySQL/MariaDB, SQL Server) through
 * the table mapping that also reads it. Every step is safe to repeat: a
 * redelivered task finds its values in place ('already-applied'), a retried
 * insert finds the row its first attempt made.
 */
import type { Knex } from 'knex';
import type { Row } from '../capture';
import { ApplyError, DependencyPendingError } from '../errors';
import { deterministicUuid } from './deterministic-uuid';
import { allocateKey } from './key-allocation';
import type { ApplyOutcome, ApplyTask } from './task';
import { applyBulk, type BatchHost, type BatchResult } from './sql-batch';
import { pgColumnTypes } from './sql-bulk-rows';
import { createPool, rawResult, type PoolLog, type SqlType } from './sql-dialect';
import { isStillReferenced, toApplyError, type ApplyWhere } from './sql-errors';
import { isAlreadyApplied, planUpdate } from './sql-plan';
import { deleteRow, insertRow, lockMatchingRows, lockRow, updateRow, type TableScope } from './sql-rows';
import {
  keyOfRecord, omit, recordRow, singleKeyColumn, upsertInput, type SqlApplyContext, type UpsertPlanInput,
} from './upsert-input';

export type { SqlApplyContext } from './upsert-input';
export type { BatchResult } from './sql-batch';

export interface SqlTargetOptions {
  /** Configured system name (crosswalk and log context). */
  system: string;
  type: SqlType;
  connectionString: string;
  /** Replication origin tagging tandem's writes (PostgreSQL). */
  origin: string;
  /** MariaDB: the session server_id tandem's connections write the binlog with (see `apply.echoServerId`). */
  echoServerId?: number;
  /** Write a field only if the target still holds the value tandem expects there. */
  conditional: boolean;
  poolSize: number;
  /** Where the connection pool's own warnings go (a lost connection); by default knex prints them. */
  log?: PoolLog;
}

/** Rows adopted per retried insert are chosen among this many candidates. */
const ADOPT_CANDIDATES = 10;

export class SqlTarget {
  readonly system: string;
  readonly type: SqlType;
  private readonly db: Knex;
  private readonly conditional: boolean;
  private flavourMemo: Promise<'mariadb' | 'mysql'> | undefined;
  /** PostgreSQL column types per table, read once (bulk updates cast to them). */
  private readonly columnTypesMemo = new Map<string, Promise<Map<string, string>>>();

  constructor(options: SqlTargetOptions) {
    this.system = options.system;
    this.type = options.type;
    this.conditional = options.conditional;
    this.db = createPool(options);
  }

  async apply(task: ApplyTask, ctx: SqlApplyContext): Promise<ApplyOutcome> {
    const where: ApplyWhere = {
      system: this.system, table: ctx.mapping.table, entity: task.entity, key: task.key, correlationId: task.correlationId,
    };
    try {
      if (task.reason === 'exception') return await this.writeException(task, ctx);
      return task.op === 'delete' ? await this.remove(task, ctx) : await this.upsert(task, ctx);
    } catch (error) {
      if (task.op === 'delete' && isStillReferenced(error)) {
        // Rows that reference it are being moved away (a merge re-points them in tasks of their own, applied
        // concurrently): the delete waits for them instead of failing for good.
        throw new DependencyPendingError(`${this.system}: ${task.entity} ${task.key} is still referenced in ${ctx.mapping.table}; its delete waits for the referencing rows to move`, where, { cause: error });
      }
      throw toApplyError(error, where);
    }
  }

  /**
   * Applies several tasks of one entity. The effect is that of `apply` on
   * each in turn; one task's failure is reported for that task alone.
   */
  async applyBatch(tasks: ApplyTask[], ctx: SqlApplyContext): Promise<BatchResult[]> {
    return applyBulk(this.batchHost, tasks, ctx);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  private async remove(task: ApplyTask, ctx: SqlApplyContext): Promise<ApplyOutcome> {
    const localKey = await this.knownLocalKey(task, ctx);
    if (localKey === null) return { status: 'deleted', localKey: null };
    await this.db.transaction((trx) => deleteRow(this.scope(trx, ctx), ctx.mapping.keyRow(localKey)));
    return { status: 'deleted', localKey };
  }

  private async upsert(task: ApplyTask, ctx: SqlApplyContext): Promise<ApplyOutcome> {
    const input = await upsertInput(this.system, this.conditional, task, ctx);

    const localKey = await this.knownLocalKey(task, ctx);
    if (localKey !== null) return this.db.transaction((trx) => this.upsertKnown(this.scope(trx, ctx), localKey, input));

    const row = await this.recordRow(task, ctx);
    // Allocated before the target transaction, and kept: see key-allocation.ts.
    const allocated = ctx.mapping.keyGenerated === 'allocated' ? await this.allocatedKeyRow(task, ctx) : null;
    const outcome = await this.db.transaction((trx) => this.upsertNew(this.scope(trx, ctx), row, input, allocated));
    // After commit: a crash before this line is what the deterministic keys and adoption are for.
    if (outcome.localKey !== null) await ctx.crosswalk.link(task.entity, this.system, outcome.localKey, task.key);
    return outcome;
  }

  /** The target has a row for this record (crosswalk): update it, or put it back if it is gone. */
  private async upsertKnown(scope: TableScope, localKey: string, input: UpsertPlanInput): Promise<ApplyOutcome> {
    const where = scope.mapping.keyRow(localKey);
    const updated = await this.updateExisting(scope, where, localKey, input);
    if (updated) return updated;
    // The existence owner deleted it: a change propagated from elsewhere does not resurrect it.
    if (input.ctx.ownsExistence && input.task.reason === 'propagate') return { status: 'superseded', localKey, fields: [], goneFromOwner: true };
    // Same key as before, whatever the key generation: the crosswalk already names it.
    const row = { ...(await this.recordRow(input.task, input.ctx)), ...where };
    await insertRow(scope, row, [], this.flavour);
    return { status: 'applied', localKey };
  }

  private async upsertNew(scope: TableScope, row: Row, input: UpsertPlanInput, allocated: Row | null): Promise<ApplyOutcome> {
    const { mapping } = scope;
    switch (mapping.keyGenerated) {
      case 'none':
        return this.upsertByKey(scope, keyOfRecord(mapping, row, input.task), row, input);
      case 'uuid': {
        const keyRow = { [singleKeyColumn(mapping, input.task)]: deterministicUuid(this.system, input.task.entity, input.task.key) };
        return this.upsertByKey(scope, keyRow, { ...row, ...keyRow }, input);
      }
      case 'database':
        return this.insertGenerated(scope, omit(row, mapping.keyColumns), input);
      case 'allocated': {
        if (!allocated) throw new Error('an allocated key must be allocated before the transaction');
        return this.upsertByKey(scope, allocated, { ...row, ...allocated }, input);
      }
    }
  }

  /**
   * The key the target assigns to this record: the one allocated for it
   * earlier (a retry after a crash), or a new one, stored before it is used.
   */
  async allocatedKeyRow(task: ApplyTask, ctx: SqlApplyContext): Promise<Row> {
    const { mapping } = ctx;
    const column = singleKeyColumn(mapping, task);
    if (!mapping.keyAllocator || !ctx.allocations) {
      throw new ApplyError(`${this.system}: ${mapping.table} has an allocated key but no allocation store was given`, {
        retriable: false, system: this.system, table: mapping.table, entity: task.entity, key: task.key, correlationId: task.correlationId,
      });
    }
    let localKey = await ctx.allocations.get(this.system, task.entity, task.key);
    localKey ??= await ctx.allocations.put(this.system, task.entity, task.key, await allocateKey(this.db, this.type, mapping.keyAllocator));
    return { [column]: localKey };
  }

  /**
   * An exception's state (status, error) written to the exception columns
   * of the record's row, nothing else. No row (it is gone) or no such
   * columns: nothing to write.
   */
  private async writeException(task: ApplyTask, ctx: SqlApplyContext): Promise<ApplyOutcome> {
    const columns = ctx.mapping.exceptionColumns;
    const localKey = await this.knownLocalKey(task, ctx);
    if (!columns || localKey === null) return { status: 'superseded', localKey, fields: [] };
    const values = { [columns.status]: task.fields['status'] ?? null, [columns.error]: task.fields['error'] ?? null };
    const where = ctx.mapping.keyRow(localKey);
    const written = await this.db.transaction(async (trx) => {
      const scope = this.scope(trx, ctx);
      const locked = await lockRow(scope, [...ctx.mapping.keyColumns, ...Object.keys(values)], where);
      if (!locked) return false;
      await updateRow(scope, where, values, locked.kinds);
      return true;
    });
    return written ? { status: 'applied', localKey } : { status: 'superseded', localKey, fields: [] };
  }

  /** The key is known before inserting: a row already there under it is the row to update. */
  private async upsertByKey(scope: TableScope, keyRow: Row, row: Row, input: UpsertPlanInput): Promise<ApplyOutcome> {
    const localKey = scope.mapping.localKeyOf(keyRow);
    const updated = await this.updateExisting(scope, keyRow, localKey, input);
    if (updated) return updated;
    await insertRow(scope, row, [], this.flavour);
    return { status: 'applied', localKey };
  }

  private async insertGenerated(scope: TableScope, values: Row, input: UpsertPlanInput): Promise<ApplyOutcome> {
    const { mapping } = scope;
    if (input.task.attempts > 0) {
      const adopted = await this.findAdoptable(scope, values, input);
      if (adopted) {
        const localKey = mapping.localKeyOf(adopted);
        return (await this.updateExisting(scope, adopted, localKey, input)) ?? { status: 'applied', localKey };
      }
    }
    const keyRow = await insertRow(scope, values, mapping.keyColumns, this.flavour);
    return { status: 'applied', localKey: mapping.localKeyOf(keyRow) };
  }

  /**
   * A retried database-keyed insert: the first attempt may have committed its
   * row and crashed before linking it. A row holding exactly the record's
   * values and linked to no other record is that row.
   */
  private async findAdoptable(scope: TableScope, values: Row, input: UpsertPlanInput): Promise<Row | null> {
    if (Object.keys(values).length === 0) return null;
    const { mapping } = scope;
    const candidates = await lockMatchingRows(scope, mapping.keyColumns, values, ADOPT_CANDIDATES);
    if (candidates.length === 0) return null;
    const localKeys = candidates.map((row) => mapping.localKeyOf(row));
    const linked = await input.ctx.crosswalk.canonicalKeys(input.task.entity, this.system, localKeys);
    const index = localKeys.findIndex((k) => (linked.get(k) ?? input.task.key) === input.task.key);
    return index < 0 ? null : (candidates[index] ?? null);
  }

  /** Locks and updates the row at `where`; null when there is no such row. */
  private async updateExisting(scope: TableScope, where: Row, localKey: string, input: UpsertPlanInput): Promise<ApplyOutcome | null> {
    const columns = [...scope.mapping.keyColumns, ...input.bindings.map((b) => b.column)];
    const locked = await lockRow(scope, columns, where);
    const values = locked?.rows[0];
    if (!locked || !values) return null;
    const plan = planUpdate({
      bindings: input.bindings, wanted: input.wanted, expected: input.expected,
      current: { values, kinds: locked.kinds }, conditional: this.conditional, refMappings: input.ctx.refMappings,
    });
    if (isAlreadyApplied(plan)) return { status: 'already-applied', localKey };
    if (Object.keys(plan.write).length === 0) return { status: 'superseded', localKey, fields: plan.superseded };
    await updateRow(scope, where, scope.mapping.toRow(plan.write), locked.kinds);
    return { status: 'applied', localKey };
  }

  private recordRow(task: ApplyTask, ctx: SqlApplyContext): Promise<Row> {
    return recordRow(this.system, task, ctx);
  }

  private async knownLocalKey(task: ApplyTask, ctx: SqlApplyContext): Promise<string | null> {
    const found = await ctx.crosswalk.localKeys(task.entity, this.system, [task.key]);
    return found.get(task.key) ?? null;
  }

  private scope(trx: Knex.Transaction, ctx: SqlApplyContext): TableScope {
    return { trx, type: this.type, mapping: ctx.mapping };
  }

  /** What the bulk path (sql-batch.ts) uses of this target. */
  private get batchHost(): BatchHost {
    return {
      system: this.system, type: this.type, db: this.db, conditional: this.conditional,
      apply: (task, ctx) => this.apply(task, ctx),
      insertGenerated: (scope, values, input) => this.insertGenerated(scope, values, input),
      allocatedKeyRow: (task, ctx) => this.allocatedKeyRow(task, ctx),
      columnTypes: (scope) => this.columnTypes(scope),
    };
  }

  private columnTypes(scope: TableScope): Promise<Map<string, string>> {
    const table = scope.mapping.table;
    let memo = this.columnTypesMemo.get(table);
    if (!memo) {
      memo = pgColumnTypes(scope);
      memo.catch(() => this.columnTypesMemo.delete(table));
      this.columnTypesMemo.set(table, memo);
    }
    return memo;
  }

  /** MariaDB or MySQL proper (they differ in INSERT … RETURNING); asked once. */
  private readonly flavour = (): Promise<'mariadb' | 'mysql'> => {
    this.flavourMemo ??= this.db.raw('SELECT VERSION() AS v').then(
      (res: unknown) => (/mariadb/i.test(String(rawResult('mysql', res).rows[0]?.['v'])) ? 'mariadb' : 'mysql'),
      (error: unknown) => {
        this.flavourMemo = undefined;
        throw error;
      },
    );
    return this.flavourMemo;
  };
}
