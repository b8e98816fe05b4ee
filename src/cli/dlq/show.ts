import { UsageError } from '../../errors';
import { getDeadLetter, type DeadLetterRow } from '../../store';
import { EXIT_OK } from '../exit';
import { processIo, runReporting, type Io } from '../io';
import { withStateStore } from '../state-store-access';
import { age, eventOf, parseLetterId, taskOf } from './filters';

export interface DlqShowOptions {
  config: string;
}

interface OutboxState {
  status: string;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date;
  done_at: Date | null;
}

/** `tandem dlq show <id>`: everything about one letter, the payload pretty-printed, and where its task stands now. */
export async function runDlqShow(id: string, options: DlqShowOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const letterId = parseLetterId(id);
    const { letter, task } = await withStateStore(options.config, async ({ knex, schema }) => {
      const letter = await getDeadLetter(knex, schema, letterId);
      const task: OutboxState | undefined = letter?.taskId ? await knex.withSchema(schema).table('outbox').where({ id: letter.taskId }).first() : undefined;
      return { letter, task };
    });
    if (!letter) throw new UsageError(`no dead letter #${letterId}`);
    io.out(describeLetter(letter, task ?? null));
    return EXIT_OK;
  });
}

export function describeLetter(letter: DeadLetterRow, task: OutboxState | null): string {
  const fields: Array<[string, string]> = [
    ['kind', letter.kind],
    ['status', statusText(letter)],
    ['parked at', `${letter.createdAt.toISOString()} (${age(letter.createdAt)} ago)`],
    ['system', letter.system ?? '-'],
    ['source table', letter.table ?? '-'],
    ['position', letter.position ?? '-'],
    ['correlation id', letter.correlationId ?? '-'],
    ['error code', letter.errorCode],
    ['error', letter.error],
    ['attempts', String(letter.attempts)],
  ];
  if (letter.reason) fields.push(['reason', letter.reason]);
  const copy = taskOf(letter);
  if (letter.kind === 'task') {
    fields.push(['task', letter.taskId ? `#${letter.taskId}` : '-']);
    if (copy) fields.push(['target entity/key', `${String(copy.entity)} ${String(copy.key)} (${String(copy.op)}, ${String(copy.reason)})`]);
    fields.push(['task now', task
      ? `${task.status}, ${task.attempts} attempt${task.attempts === 1 ? '' : 's'}${task.last_error ? `, last error: ${task.last_error}` : ''}`
      : 'not in the outbox (a retry queues the copy below)']);
  } else {
    const event = eventOf(letter);
    if (event) fields.push(['event', `${event.op} on ${event.source.schema ?? ''}.${event.source.table} at ${new Date(event.source.commitTimeMs).toISOString()}, tx ${event.source.txId ?? '-'}`]);
    else fields.push(['event', 'undecodable: the message as it arrived is below']);
  }
  const width = Math.max(...fields.map(([name]) => name.length));
  const payload = JSON.stringify(letter.payload, null, 2).replace(/\n/g, '\n  ');
  const label = letter.kind === 'task' ? 'payload (the task, and the error or response of its last attempt)' : 'payload (the raw event)';
  return `dead letter #${letter.id}\n${fields.map(([name, value]) => `  ${name.padEnd(width)}  ${value}\n`).join('')}\n  ${label}:\n  ${payload}\n`;
}

function statusText(letter: DeadLetterRow): string {
  if (letter.status === 'open') return `open (tandem dlq retry ${letter.id} | tandem dlq discard ${letter.id} --reason "…")`;
  return `${letter.status} by ${letter.resolvedBy ?? '?'} at ${letter.resolvedAt?.toISOString() ?? '?'}${letter.resolution ? `: ${letter.resolution}` : ''}`;
}
