/**
 * Carries out repair plans in the state store: per batch of records, one
 * transaction that locks the records, re-checks that they are still what
 * compare read, saves the corrected records, links adopted rows, queues the
 * writes in the outbox (the apply stage delivers them like any correction:
 * deduplicated, conditional, retried, dead-lettered) and chains a `repair`
 * entry per repaired side onto the conflict log.
 */
import type { Knex } from 'knex';
import { appendConflicts, enqueueTasks, KnexCrosswalk, lockRecords, recordMapKey, saveRecords, type NewTask } from '../store';
import type { CanonicalRecord } from '../transform';
import type { VersionedObservation } from './observe';
import { correlationId, planRepair, type RepairContext } from './repair-plan';
import type { Difference, RepairSummary } from './types';

export interface RepairItem {
  obs: VersionedObservation;
  differences: Difference[];
}

export class Repairer {
  readonly summary: RepairSummary = { tasks: 0, logged: 0, records: 0, skippedTotal: 0, skipped: [] };

  constructor(
    private readonly store: Knex,
    private readonly schema: string,
    private readonly rulesVersion: string,
    private readonly context: RepairContext,
  ) {}

  /** Repairs the records of one page; differences already explained are left to the work that explains them. */
  async repair(items: readonly RepairItem[]): Promise<void> {
    const todo: RepairItem[] = [];
    for (const item of items) {
      const open = item.differences.filter((d) => d.explained === null);
      const explained = item.differences.find((d) => d.explained !== null);
      if (explained && open.length === 0) this.skip(item.obs, `${explained.explained!.by} #${explained.explained!.id} (${explained.explained!.status}) covers it`);
      if (open.length > 0) todo.push({ obs: item.obs, differences: open });
    }
    if (todo.length === 0) return;
    const done = await this.store.transaction(async (trx) => {
      const locked = await lockRecords(trx, this.schema, todo.map((i) => ({ entity: i.obs.entity, key: keyOf(i.obs) })));
      const save: CanonicalRecord[] = [];
      const tasks: NewTask[] = [];
      const conflicts = [];
      const skipped: Array<{ obs: VersionedObservation; reason: string }> = [];
      let corrected = 0;
      const crosswalk = new KnexCrosswalk(trx, this.schema).withTransaction(trx);
      for (const item of todo) {
        const record = locked.get(recordMapKey(item.obs.entity, keyOf(item.obs)))!;
        const plan = planRepair(record, item.obs, item.differences, this.context);
        if (typeof plan === 'string') {
          skipped.push({ obs: item.obs, reason: plan });
          if (record.version === 0) save.push(record); // the placeholder lockRecords made is removed again
          continue;
        }
        save.push(plan.record);
        if (plan.record.version > record.version) corrected += 1;
        if (plan.link) await crosswalk.link(item.obs.entity, plan.link.system, plan.link.localKey, plan.record.key);
        for (const write of plan.writes) {
          tasks.push({
            target: write.system, entity: plan.record.entity, key: plan.record.key, op: write.op, fields: write.fields,
            expected: write.expected, record: plan.record.fields, reason: 'correct', correlationId: correlationId(this.context),
          });
        }
        conflicts.push(...plan.conflicts);
      }
      await saveRecords(trx, this.schema, save);
      await enqueueTasks(trx, this.schema, tasks);
      await appendConflicts(trx, this.schema, conflicts, this.rulesVersion);
      return { tasks: tasks.length, logged: conflicts.length, records: corrected, skipped };
    });
    this.summary.tasks += done.tasks;
    this.summary.logged += done.logged;
    this.summary.records += done.records;
    for (const s of done.skipped) this.skip(s.obs, s.reason);
  }

  private skip(obs: VersionedObservation, reason: string): void {
    this.summary.skippedTotal += 1;
    if (this.summary.skipped.length < 100) this.summary.skipped.push({ entity: obs.entity, key: obs.key, reason });
  }
}

/** The record key a repair locks: an unlinked row's record would be keyed as its first sighting (newCanonicalKey). */
function keyOf(obs: VersionedObservation): string {
  return obs.key;
}
