/**
 * A held task (the head of an open exception) with the record's later tasks
 * for the same target folded in: one write of the record's latest state.
 * Pure.
 */
import type { Fields } from '../transform';
import type { ApplyTask } from './task';

export interface Folded {
  op: ApplyTask['op'];
  fields: Fields;
  expected: Fields;
  record: Fields;
  reason: ApplyTask['reason'];
}

/**
 * Later values replace earlier ones. A field's expected value is the one the
 * first task writing it expected: the target refused that task, so it still
 * holds what that task expected. A delete ends the record (nothing to
 * expect); an upsert after a delete is a fresh write of the whole record.
 * A correction anywhere keeps the fold a correction (it may put a row back).
 */
export function foldTasks(head: Pick<ApplyTask, 'op' | 'fields' | 'expected' | 'record' | 'reason'>, later: ReadonlyArray<Pick<ApplyTask, 'op' | 'fields' | 'expected' | 'record' | 'reason'>>): Folded {
  let acc: Folded = { op: head.op, fields: { ...head.fields }, expected: { ...head.expected }, record: head.record, reason: head.reason };
  for (const task of later) {
    const reason = acc.reason === 'correct' || task.reason === 'correct' ? 'correct' : task.reason;
    if (task.op === 'delete') {
      acc = { op: 'delete', fields: {}, expected: {}, record: task.record, reason };
    } else if (acc.op === 'delete') {
      acc = { op: 'upsert', fields: { ...task.record, ...task.fields }, expected: {}, record: task.record, reason };
    } else {
      const expected = { ...acc.expected };
      for (const [field, value] of Object.entries(task.expected)) if (!(field in acc.fields)) expected[field] = value;
      acc = { op: 'upsert', fields: { ...acc.fields, ...task.fields }, expected, record: task.record, reason };
    }
  }
  return acc;
}
