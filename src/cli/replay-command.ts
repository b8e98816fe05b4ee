/**
 * `tandem replay --from <position|time>`: re-runs recorded changes from the
 * change journal through the resolver, as they were captured (the same
 * canonical change at the same source position), against the current
 * records and rules. Deduplication keeps it harmless: a record that already
 * holds a change's position skips it as a redelivery. What a replay can
 * bring back is what was lost downstream of the journal — a record's state,
 * the writes its changes cause. It cannot re-read what the source database
 * itself has discarded, nor anything older than the journal's retention.
 */
import type { Knex } from 'knex';
import { compileRules, type Decision, type RuleBook } from '../conflict';
import { UsageError } from '../errors';
import { decideInOrder, tasksOf } from '../pipeline/resolve-stage';
import { writableFieldsOf } from '../pipeline/runtime';
import { appendConflicts, enqueueTasks, getRecord, lockRecords, recordMapKey, saveRecords } from '../store';
import { compileMappings, type CanonicalChange, type CanonicalRecord } from '../transform';
import { parseTime } from './conflicts/filters';
import { EXIT_OK } from './exit';
import { formatTable, processIo, runReporting, type Io } from './io';
import { withStateStore } from './state-store-access';

export interface ReplayOptions {
  config: string;
  from: string;
  until?: string;
  system?: string;
  dryRun?: boolean;
  /** Journal entries resolved per transaction (default 500). */
  batchSize?: number;
}

/** A replay bound: a source commit time, or a position of one system. */
export type Bound = { time: Date } | { position: string };

export interface ReplayCounts {
  /** Journal entries re-run. */
  replayed: number;
  /** Skipped: the record already holds the change's position. */
  alreadyApplied: number;
  /** Skipped for another reason (an older change than the field's current value). */
  stale: number;
  /** Skipped: the entity has no rules in the current configuration any more. */
  unconfigured: number;
  /** Changes that changed a record again. */
  newDecisions: number;
  tasksEnqueued: number;
  conflictsLogged: number;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const SPAN = /^\d+(\.\d+)?\s*[smhdw]$/;

/** An ISO time or a span back from now (`2h`) is a time; anything else is a source position. */
export function parseBound(text: string, now = new Date()): Bound {
  const trimmed = text.trim();
  if (ISO_TIME.test(trimmed) || SPAN.test(trimmed)) return { time: parseTime(trimmed, now) };
  if (trimmed === '') throw new UsageError('an empty --from/--until: give a source position (with --system) or an ISO time');
  return { position: trimmed };
}

export async function runReplay(options: ReplayOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const from = parseBound(options.from);
    const until = options.until === undefined ? undefined : parseBound(options.until);
    if ((('position' in from) || (until && 'position' in until)) && !options.system) {
      throw new UsageError('positions are per system: a --from/--until position needs --system <name>');
    }
    return withStateStore(options.config, async ({ knex, schema, loaded }) => {
      const { config } = loaded;
      if (options.system && !config.systems[options.system]) throw new UsageError(`no system ${options.system} in the configuration`);
      const oldest = await knex.withSchema(schema).table('journal').min('commit_time as t').min('recorded_at as recorded').first();
      const counts = await replayJournal(knex, schema, {
        from, until, system: options.system, dryRun: options.dryRun ?? false, batchSize: options.batchSize ?? 500,
        rules: compileRules(config.entities, loaded.version, config.cutovers), writableFields: writableFieldsOf(compileMappings(config.mappings)),
      });
      const range = `${describeBound(from)}${until ? ` until ${describeBound(until)}` : ''}${options.system ? `, system ${options.system}` : ', all systems'}`;
      io.out(`${options.dryRun ? 'dry run (nothing written): would replay' : 'replayed'} journal entries from ${range}\n`);
      const would = options.dryRun ? 'would be ' : '';
      io.out(formatTable(['', 'changes'], [
        [`${would}replayed`, String(counts.replayed)],
        ['skipped, already applied', String(counts.alreadyApplied)],
        ['skipped, stale', String(counts.stale)],
        ...(counts.unconfigured > 0 ? [['skipped, entity no longer configured', String(counts.unconfigured)]] : []),
        ['new decisions', String(counts.newDecisions)],
        [`tasks ${would}enqueued`, String(counts.tasksEnqueued)],
        [`conflicts ${would}logged`, String(counts.conflictsLogged)],
      ]));
      const start = oldest?.t ? new Date(oldest.t as string) : null;
      // Entries recorded longer ago than the retention have been pruned: anything older than the journal's start is gone.
      const retentionMs = config.journal.retentionHours * 3_600_000;
      const pruning = oldest?.recorded ? Date.now() - new Date(oldest.recorded as string).getTime() > retentionMs - 3_600_000 : false;
      if ('time' in from && start && start > from.time && pruning) {
        io.err(`note: the journal starts at ${start.toISOString()} (journal.retentionHours ${config.journal.retentionHours}); older changes are no longer kept and were not replayed\n`);
      }
      if (!config.journal.enabled) io.err('note: journal.enabled is false: changes resolved since it was turned off are not journalled and were not replayed\n');
      return EXIT_OK;
    });
  });
}

function describeBound(bound: Bound): string {
  return 'time' in bound ? `${bound.time.toISOString()} (commit time)` : `position ${bound.position}`;
}

export interface ReplayJournalOptions {
  from: Bound;
  until?: Bound;
  system?: string;
  dryRun: boolean;
  batchSize: number;
  rules: RuleBook;
  writableFields: (entity: string) => ReadonlyMap<string, ReadonlySet<string>>;
}

/**
 * Reads the journal in the order its changes were resolved and re-resolves
 * them a page at a time, each page in one transaction that locks its records
 * (as the resolve stage does). A dry run decides against records read
 * without locks and kept in memory, and writes nothing.
 */
export async function replayJournal(knex: Knex, schema: string, o: ReplayJournalOptions): Promise<ReplayCounts> {
  const counts: ReplayCounts = { replayed: 0, alreadyApplied: 0, stale: 0, unconfigured: 0, newDecisions: 0, tasksEnqueued: 0, conflictsLogged: 0 };
  const configured = configuredEntities(o.rules);
  const dryRecords = new Map<string, CanonicalRecord | null>();
  let lastId = '0';
  for (;;) {
    const query = knex.withSchema(schema).table('journal').select('id', 'change').where('id', '>', lastId).orderBy('id').limit(o.batchSize);
    if (o.system) query.where('system', o.system);
    if ('time' in o.from) query.where('commit_time', '>=', o.from.time);
    else query.where('position', '>=', o.from.position);
    if (o.until && 'time' in o.until) query.where('commit_time', '<', o.until.time);
    else if (o.until) query.where('position', '<=', o.until.position);
    const page: Array<{ id: string; change: CanonicalChange }> = await query;
    if (page.length === 0) break;
    lastId = String(page.at(-1)!.id);
    const changes = page.map((row) => row.change).filter((c) => configured(c.entity));
    counts.unconfigured += page.length - changes.length;
    if (o.dryRun) {
      for (const c of changes) {
        const k = recordMapKey(c.entity, c.key!);
        if (!dryRecords.has(k)) dryRecords.set(k, await getRecord(knex, schema, c.entity, c.key!));
      }
      const decided = decideInOrder(changes, dryRecords, o);
      tally(counts, decided);
    } else {
      await knex.transaction(async (trx) => {
        const records: Map<string, CanonicalRecord | null> = await lockRecords(trx, schema, changes.map((c) => ({ entity: c.entity, key: c.key! })));
        const decided = decideInOrder(changes, records, o);
        await saveRecords(trx, schema, [...records.values()].filter((r): r is CanonicalRecord => r !== null));
        await appendConflicts(trx, schema, decided.flatMap(({ decision }) => decision.conflicts), o.rules.version);
        await enqueueTasks(trx, schema, decided.flatMap(({ decision, change }) => tasksOf(decision, change.event.correlationId)));
        tally(counts, decided);
      });
    }
    if (page.length < o.batchSize) break;
  }
  return counts;
}


/** Whether the current rules know an entity (a journal may hold changes of entities since removed). */
function configuredEntities(rules: RuleBook): (entity: string) => boolean {
  const known = new Map<string, boolean>();
  return (entity) => {
    let ok = known.get(entity);
    if (ok === undefined) {
      try {
        rules.entity(entity);
        ok = true;
      } catch {
        ok = false;
      }
      known.set(entity, ok);
    }
    return ok;
  };
}

function tally(counts: ReplayCounts, decided: Array<{ decision: Decision }>): void {
  for (const { decision } of decided) {
    counts.replayed++;
    if (decision.skipped === 'redelivered') counts.alreadyApplied++;
    else if (decision.skipped) counts.stale++;
    else counts.newDecisions++;
    counts.tasksEnqueued += decision.writes.length;
    counts.conflictsLogged += decision.conflicts.length;
  }
}
