import type { Knex } from 'knex';

export interface DeadLetter {
  kind: 'event' | 'task';
  system?: string | null;
  table?: string | null;
  position?: string | null;
  correlationId?: string | null;
  taskId?: string | null;
  errorCode: string;
  error: string;
  /** Everything needed to understand and replay it: the raw event, or the task with its attempts. */
  payload: unknown;
  attempts?: number;
}

export async function parkDeadLetters(db: Knex | Knex.Transaction, schema: string, letters: DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  await db.withSchema(schema).table('dead_letters').insert(
    letters.map((l) => ({
      kind: l.kind,
      system: l.system ?? null,
      source_table: l.table ?? null,
      position: l.position ?? null,
      correlation_id: l.correlationId ?? null,
      task_id: l.taskId ?? null,
      error_code: l.errorCode,
      error: l.error,
      payload: JSON.stringify(l.payload),
      attempts: l.attempts ?? 0,
    })),
  );
}

export async function openDeadLetters(knex: Knex, schema: string): Promise<number> {
  const row = await knex.withSchema(schema).table('dead_letters').where({ status: 'open' }).count<{ count: string }[]>('* as count').first();
  return Number(row?.count ?? 0);
}
