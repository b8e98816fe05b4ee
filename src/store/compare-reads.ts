import type { Knex } from 'knex';
import type { Fields } from '../transform';

/** A canonical record as compare reads it (provenance and shadows are not needed to judge). */
export interface RecordState {
  key: string;
  fields: Fields;
  deleted: boolean;
  version: number;
}

/** Keys of the live records of an entity after `afterKey`, in key order (keyset pagination on the primary key). */
export async function liveRecordKeys(knex: Knex, schema: string, entity: string, afterKey: string | null, limit: number): Promise<string[]> {
  const { rows } = await knex.raw(
    `SELECT key FROM ??.records WHERE entity = ? AND key > ? AND version > 0 AND NOT deleted ORDER BY entity, key LIMIT ?`,
    [schema, entity, afterKey ?? '', limit],
  );
  return (rows as Array<{ key: string }>).map((r) => r.key);
}

/** Records of the given keys (placeholders, version 0, left out). */
export async function recordsByKeys(knex: Knex, schema: string, entity: string, keys: readonly string[]): Promise<Map<string, RecordState>> {
  if (keys.length === 0) return new Map();
  const { rows } = await knex.raw(
    `SELECT key, fields, deleted, version FROM ??.records WHERE entity = ? AND key = ANY(?::text[]) AND version > 0`,
    [schema, entity, [...new Set(keys)]],
  );
  return new Map((rows as RecordState[]).map((r) => [r.key, r]));
}

/** An outbox task not yet carried out. */
export interface OpenTask {
  id: string;
  target: string;
  key: string;
  status: 'pending' | 'inflight';
}

/** Pending and in-flight tasks of the given records (in the outbox, index outbox_open, or in apply intents), oldest first. */
export async function openTasksFor(knex: Knex, schema: string, entity: string, targets: readonly string[], keys: readonly string[]): Promise<OpenTask[]> {
  if (keys.length === 0 || targets.length === 0) return [];
  const { rows } = await knex.raw(
    `SELECT id::text, target, key, status FROM ??.open_tasks
     WHERE target = ANY(?::text[]) AND entity = ? AND key = ANY(?::text[]) AND status IN ('pending', 'inflight') ORDER BY id`,
    [schema, [...targets], entity, [...new Set(keys)]],
  );
  return rows as OpenTask[];
}

/** An open dead letter of a task that could not be applied: the record and target it concerns. */
export interface TaskLetter {
  id: string;
  system: string;
  key: string;
}

/** Open task letters of an entity (index dead_letters_open: only open letters are read). */
export async function openTaskLetters(knex: Knex, schema: string, entity: string): Promise<TaskLetter[]> {
  const { rows } = await knex.raw(
    `SELECT id::text, system, payload -> 'task' ->> 'key' AS key FROM ??.dead_letters
     WHERE status = 'open' AND kind = 'task' AND payload -> 'task' ->> 'entity' = ? ORDER BY id`,
    [schema, entity],
  );
  return (rows as TaskLetter[]).filter((r) => r.key !== null);
}
