/**
 * Keys the owner assigns, flowing back: when a target assigned the key of a
 * record tandem inserted (`generated: database`, or an allocated key) and its
 * mapping binds the key column to a canonical field (the ERP customer
 * number), the record takes that value — as the target's own — and it is
 * written to every other system mapping the field (the CRM account gets its
 * ERP number).
 *
 * Exactly once: this runs after the insert and before the task counts as
 * applied. A crash in between makes the task run again; the retried insert
 * finds its row (stored allocation, crosswalk, adoption) and reports the same
 * key, and this step sees the record already holding it and does nothing.
 */
import type { ApplyOutcome, ApplyTask } from '../apply';
import { EXISTENCE_FIELD, planPropagation, sameValue, type ConflictEntry } from '../conflict';
import { appendConflicts, enqueueTasks, lockRecords, recordMapKey, saveRecords } from '../store';
import type { CanonicalRecord, Mapping } from '../transform';
import type { ApplyStageDeps } from './apply-stage';
import { tasksOf } from './resolve-stage';
import { writableFieldsOf } from './runtime';

export async function flowBackAssignedKeys(done: Array<{ task: ApplyTask; outcome: ApplyOutcome }>, mapping: Mapping, deps: ApplyStageDeps): Promise<void> {
  const keyField = mapping.keyField;
  if (keyField === null || (mapping.keyGenerated !== 'database' && mapping.keyGenerated !== 'allocated')) return;
  const binding = mapping.fields.find((b) => b.field === keyField && !b.ref);
  if (!binding) return;
  const assigned = done.flatMap(({ task, outcome }) => {
    if (task.op !== 'upsert' || task.reason === 'exception' || outcome.localKey === null || (outcome.status !== 'applied' && outcome.status !== 'already-applied')) return [];
    const column = mapping.keyColumns[0]!;
    return [{ task, value: binding.toCanonical(mapping.keyRow(outcome.localKey)[column] ?? null) }];
  });
  if (assigned.length === 0) return;
  const fieldsOf = writableFieldsOf(deps.registry);
  await deps.store.transaction(async (trx) => {
    const records = await lockRecords(trx, deps.schema, assigned.map(({ task }) => ({ entity: task.entity, key: task.key })));
    const changed: CanonicalRecord[] = [];
    for (const { task, value } of assigned) {
      const record = records.get(recordMapKey(task.entity, task.key));
      if (!record || record.version === 0 || record.deleted || sameValue(record.fields[keyField], value)) continue;
      const next = structuredClone(record);
      next.fields[keyField] = value;
      next.provenance[keyField] = { system: deps.target, commitTimeMs: Date.now(), position: `key-of-task-${task.id}`, correlationId: task.correlationId };
      next.shadows[deps.target] = { ...next.shadows[deps.target], [keyField]: value };
      next.version = record.version + 1;
      const writes = [...planPropagation(next, deps.target, { [keyField]: value }, false, fieldsOf(task.entity))];
      records.set(recordMapKey(task.entity, task.key), next);
      changed.push(next);
      await enqueueTasks(trx, deps.schema, tasksOf({ record: next, patch: [], conflicts: [], writes, skipped: false }, task.correlationId, task.commitTimeMs ?? undefined));
      deps.logger.info('key assigned by the target flows back', { correlationId: task.correlationId, target: deps.target, entity: task.entity, key: task.key, field: keyField, value, to: writes.map((w) => w.system) });
    }
    // Placeholders lockRecords made for records that do not exist (version 0) are removed again by saveRecords.
    const placeholders = [...records.values()].filter((r) => r.version === 0 && Object.keys(r.positions).length === 0);
    await saveRecords(trx, deps.schema, [...changed, ...placeholders]);
  });
}

/**
 * A change propagated to the existence owner for a record whose row the
 * owner has deleted (its delete not yet resolved, or resolved after the
 * change was queued): not re-created, and logged as the existence conflict
 * it is. The owner's delete, once resolved, removes the record everywhere.
 */
export async function logKeptDeletes(done: Array<{ task: ApplyTask; outcome: ApplyOutcome }>, mapping: Mapping, deps: ApplyStageDeps): Promise<void> {
  const gone = done.filter(({ outcome }) => outcome.status === 'superseded' && outcome.goneFromOwner);
  if (gone.length === 0) return;
  const entries: ConflictEntry[] = gone.map(({ task }) => {
    const at = task.correlationId.indexOf('@');
    return {
      entity: task.entity, key: task.key, field: EXISTENCE_FIELD, system: at > 0 ? task.correlationId.slice(0, at) : task.target, table: mapping.table,
      position: at > 0 ? task.correlationId.slice(at + 1) : task.correlationId, txId: null, commitTimeMs: task.commitTimeMs ?? Date.now(),
      correlationId: task.correlationId, attempted: { ...task.record, ...task.fields }, before: undefined, current: null, kept: null,
      rule: `${task.entity} owner=${deps.target} (existence: the row is gone from its owner; the change does not re-create it)`,
      outcome: 'rejected', patch: [{ op: 'add', path: '', value: { ...task.record, ...task.fields } }], corrected: false,
    };
  });
  await deps.store.transaction((trx) => appendConflicts(trx, deps.schema, entries, deps.rulesVersion ?? 'unknown'));
  for (const { task } of gone) deps.logger.warn('not re-created: the existence owner deleted the row', { correlationId: task.correlationId, target: deps.target, entity: task.entity, key: task.key });
}
