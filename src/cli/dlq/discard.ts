import type { ConflictEntry } from '../../conflict';
import { errorMessage, UsageError } from '../../errors';
import { appendConflicts, getDeadLetter, resolveDeadLetter, type DeadLetterRow, discardExceptionOfLetter } from '../../store';
import { compileMappings, type MappingRegistry } from '../../transform';
import { EXIT_FAILURE, EXIT_OK } from '../exit';
import { processIo, runReporting, type Io } from '../io';
import { withStateStore, type StateStoreAccess } from '../state-store-access';
import { actor, eventOf, taskOf, toSelection, type DlqFilterOptions } from './filters';
import { selectLetters } from './retry';

export interface DlqDiscardOptions extends DlqFilterOptions {
  config: string;
  reason?: string;
  by?: string;
}

/**
 * `tandem dlq discard <id>... | <filters> --reason "<text>"`: gives up on
 * letters for good. A reason is required. Each discard marks the letter and,
 * in the same transaction, chains a `discarded` row onto the conflict log
 * (rule `dead letter #<id> discarded by <user>: <reason>`), so the hash chain
 * covers who dropped what and why.
 */
export async function runDlqDiscard(ids: string[], options: DlqDiscardOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const reason = options.reason?.trim();
    if (!reason) throw new UsageError('a discard needs a reason: --reason "<why this change is given up>"');
    const selection = toSelection(ids, options, false);
    const by = actor(options.by);
    return withStateStore(options.config, async (access) => {
      const letters = await selectLetters(access, selection);
      const registry = compileMappings(access.loaded.config.mappings);
      let failures = 0;
      for (const letter of letters) {
        try {
          const logged = await discard(access, registry, letter, by, reason);
          io.out(`#${letter.id}: discarded, logged as conflict #${logged}\n`);
        } catch (error) {
          failures++;
          io.err(`#${letter.id}: not discarded: ${errorMessage(error)}\n`);
        }
      }
      io.out(`${letters.length - failures} of ${letters.length} letter${letters.length === 1 ? '' : 's'} discarded\n`);
      return failures > 0 ? EXIT_FAILURE : EXIT_OK;
    });
  });
}

async function discard({ knex, schema, loaded }: StateStoreAccess, registry: MappingRegistry, letter: DeadLetterRow, by: string, reason: string): Promise<string> {
  return knex.transaction(async (trx) => {
    const locked = await getDeadLetter(trx, schema, letter.id, true);
    if (locked?.status !== 'open') throw new UsageError(`#${letter.id} is no longer open`);
    const [logged] = await appendConflicts(trx, schema, [discardEntry(letter, registry, by, reason)], loaded.version);
    await resolveDeadLetter(trx, schema, letter.id, { status: 'discarded', by, reason, resolution: `discarded, logged as conflict #${logged}` });
    // The letter of an open exception: the exception is closed and its held task given up, so the record's later changes flow again.
    await discardExceptionOfLetter(trx, schema, letter.id, `letter #${letter.id} discarded by ${by}: ${reason}`);
    return logged!;
  });
}

/** The audit row: the letter's entity and key where known, `*` (the whole change) as the field. */
export function discardEntry(letter: DeadLetterRow, registry: MappingRegistry, by: string, reason: string): ConflictEntry {
  const task = taskOf(letter);
  const event = eventOf(letter);
  let entity = task ? String(task.entity) : '';
  if (!task && event) {
    try {
      entity = registry.forTable(event.source.system, event.source.schema ?? 'public', event.source.table).entity;
    } catch {
      entity = ''; // the table is not mapped (often why the event was parked)
    }
  }
  return {
    entity,
    key: task ? String(task.key) : '',
    field: '*',
    system: letter.system ?? '',
    table: letter.table ?? '',
    position: letter.position ?? '',
    txId: event?.source.txId ?? null,
    commitTimeMs: event?.source.commitTimeMs ?? letter.createdAt.getTime(),
    correlationId: letter.correlationId ?? `dead-letter-${letter.id}`,
    attempted: task ? (task.fields as ConflictEntry['attempted']) ?? null : null,
    before: undefined,
    current: undefined,
    kept: undefined,
    rule: `dead letter #${letter.id} discarded by ${by}: ${reason}`,
    outcome: 'discarded',
    patch: [],
    corrected: false,
  };
}
