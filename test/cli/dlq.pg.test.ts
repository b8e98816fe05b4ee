/**
 * `tandem dlq …` against a state store filled by the real resolve stage and
 * dead letters parked by the real stages: task letters from the apply stage
 * failing against a CRM table that does not exist yet, event letters from the
 * resolve stage meeting a table no mapping covers. Then list/show with
 * filters, retry (tasks applied by the apply stage; events re-parked while
 * unmapped, resolved once mapped), discard (reason required, logged in the
 * hash-chained conflict log) and the exception-aging metric.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlTarget, StoreDedup } from '../../src/apply';
import type { ChangeBatch, ChangeEvent } from '../../src/capture';
import { compileRules } from '../../src/conflict';
import { runDlqDiscard } from '../../src/cli/dlq/discard';
import { runDlqList } from '../../src/cli/dlq/list';
import { runDlqRetry } from '../../src/cli/dlq/retry';
import { runDlqShow } from '../../src/cli/dlq/show';
import { bufferIo } from '../../src/cli/io';
import { silentLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';
import { runApplyStage } from '../../src/pipeline/apply-stage';
import { PipelineMetrics } from '../../src/pipeline/metrics';
import { resolveBatch } from '../../src/pipeline/resolve-stage';
import { writableFieldsOf } from '../../src/pipeline/runtime';
import { DEFAULT_RETRY } from '../../src/retry';
import { connectStateStore, deadLetterAging, getRecord, KnexCrosswalk, migrateStateStore, verifyConflictChain } from '../../src/store';
import { compileMappings } from '../../src/transform';
import { createPgDatabase, requireEnv, TEST_ENV, waitFor, type TestDatabase } from '../support';
import { configText, fillStateStore, loadText, SCHEMA, T0 } from './review-fixture';

/** The fixture's configuration plus a contact entity mapped from the ERP's contacts table (the "fixed" mapping). */
function withContacts(): string {
  return configText()
    .replace('entities:\n', 'entities:\n  contact:\n    owner: erp\n    fields:\n      name: { owner: erp }\n')
    .replace('pipeline:\n', `  - system: erp
    table: public.contacts
    entity: contact
    key: { columns: [contact_no], generated: database }
    fields:
      name: name
pipeline:
`);
}

function contactEvent(seq: number, name: string): ChangeEvent {
  const position = `${(0x100 + seq).toString(16).toUpperCase().padStart(16, '0')}:00000000`;
  return {
    op: 'c', before: null, after: { contact_no: `K${seq}`, name }, unavailable: [], keyColumns: ['contact_no'],
    source: { system: 'erp', connector: 'postgresql', database: 'erp', schema: 'public', table: 'contacts', position, txId: `9${seq}`, commitTimeMs: T0 + 60_000 + seq, snapshot: 'false', origin: null },
    tsMs: T0 + 60_000 + seq, correlationId: `erp@${position}`,
  };
}

async function run(command: (io: ReturnType<typeof bufferIo>) => Promise<number>) {
  const io = bufferIo();
  const code = await command(io);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe('tandem dlq against PostgreSQL', () => {
  requireEnv(TEST_ENV.pg);
  let db: TestDatabase;
  let knex: Knex;
  let dir: string;
  let config: string;
  let fixed: string;

  const resolveDeps = (text: string) => {
    const loaded = loadText(text);
    const registry = compileMappings(loaded.config.mappings);
    return {
      store: knex, schema: SCHEMA, registry, rules: compileRules(loaded.config.entities, loaded.version), dedup: null,
      originOf: () => null, writableFields: writableFieldsOf(registry), metrics: new PipelineMetrics(null), logger: silentLogger(),
    };
  };
  const park = (event: ChangeEvent): Promise<void> => {
    const batch: ChangeBatch = { system: 'erp', events: [event], position: event.source.position, sourceTimeMs: event.source.commitTimeMs };
    return resolveBatch(batch, resolveDeps(configText()));
  };

  /** Runs the CRM apply stage until no CRM task is open (retries: `maxAttempts`). */
  async function applyCrm(maxAttempts: number): Promise<void> {
    const loaded = loadText(configText());
    const registry = compileMappings(loaded.config.mappings);
    const sink = new SqlTarget({ system: 'crm', type: 'postgres', connectionString: db.url, origin: 'tandem', conditional: false, poolSize: 2 });
    const abort = new AbortController();
    const stage = runApplyStage({
      target: 'crm', sink, store: knex, schema: SCHEMA, registry, crosswalk: new KnexCrosswalk(knex, SCHEMA),
      dedup: new StoreDedup({ db: knex, schema: SCHEMA }), instanceId: 'dlq-test', batchSize: 50, concurrency: 1, pollMs: 20, leaseMs: 30_000,
      retry: { ...DEFAULT_RETRY, maxAttempts, initialDelayMs: 1, maxDelayMs: 5 }, metrics: new PipelineMetrics(null), logger: silentLogger(),
    }, abort.signal);
    try {
      await waitFor(async () => Number((await knex.withSchema(SCHEMA).table('outbox').where({ target: 'crm' }).whereIn('status', ['pending', 'inflight']).count('* as n'))[0]!.n) === 0, { timeoutMs: 30_000 });
    } finally {
      abort.abort();
      await stage;
      await sink.close();
    }
  }

  const letters = async () => (await knex.withSchema(SCHEMA).table('dead_letters').orderBy('id')) as Array<Record<string, unknown> & { id: string; kind: string; status: string }>;

  beforeAll(async () => {
    db = await createPgDatabase('cli_dlq');
    process.env.CLI_STATE_URL = db.url;
    dir = mkdtempSync(join(tmpdir(), 'tandem-dlq-'));
    config = join(dir, 'tandem.yaml');
    fixed = join(dir, 'fixed.yaml');
    writeFileSync(config, configText());
    writeFileSync(fixed, withContacts());
    knex = connectStateStore(db.url, 4);
    await migrateStateStore(knex, SCHEMA);
    await fillStateStore(knex, loadText(configText(), config));
    // The CRM table does not exist yet: every CRM write fails and, with one attempt allowed, is parked.
    await applyCrm(1);
    await park(contactEvent(1, 'Jo Contact'));
    await park(contactEvent(2, 'Discard Me'));
  });
  afterAll(async () => {
    await knex?.destroy();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('parked what the stages could not do', async () => {
    const all = await letters();
    expect(all.filter((l) => l.kind === 'task').length).toBeGreaterThan(0);
    expect(all.filter((l) => l.kind === 'event')).toHaveLength(2);
    expect(all.every((l) => l.status === 'open')).toBe(true);
  });

  it('lists with filters', async () => {
    const all = await letters();
    const tasks = all.filter((l) => l.kind === 'task').length;
    const listed = await run((io) => runDlqList({ config }, io));
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/^id\s+age\s+kind\s+system\s+table\/entity\s+code\s+error\s+attempts\s+correlation id/);
    expect(listed.out).toContain(`${all.length} open dead letters`);
    expect(listed.out).toContain('customer erp:C1');
    expect(listed.out).toContain('public.contacts');

    expect((await run((io) => runDlqList({ config, kind: 'task' }, io))).out).toContain(`${tasks} open dead letter`);
    expect((await run((io) => runDlqList({ config, kind: 'event', system: 'erp' }, io))).out).toContain('2 open dead letters');
    expect((await run((io) => runDlqList({ config, system: 'crm' }, io))).out).toContain(`${tasks} open dead letter`);
    const unknownTable = all.find((l) => l.kind === 'event')!.error_code as string;
    expect((await run((io) => runDlqList({ config, code: unknownTable }, io))).out).toContain('2 open dead letters');
    expect((await run((io) => runDlqList({ config, status: 'retried' }, io))).out).toContain('0 retried dead letters');
    expect((await run((io) => runDlqList({ config, since: '1h' }, io))).out).toContain(`${all.length} open`);
    expect((await run((io) => runDlqList({ config, limit: 1 }, io))).out).toMatch(/1 open dead letter \(the oldest 1; --limit for more\)/);
    expect((await run((io) => runDlqList({ config, kind: 'bogus' }, io))).code).toBe(2);
  });

  it('shows a task letter with its task, and an event letter with its raw event', async () => {
    const all = await letters();
    const task = all.find((l) => l.kind === 'task')!;
    const shown = await run((io) => runDlqShow(String(task.id), { config }, io));
    expect(shown.code).toBe(0);
    expect(shown.out).toContain(`dead letter #${task.id}`);
    // Held: the head of the record's open exception (later CRM writes of the record were folded into it).
    expect(shown.out).toMatch(/task now\s+held, 1 attempt, last error: /);
    expect(shown.out).toContain('payload (the task, and the error or response of its last attempt)');
    expect(shown.out).toContain('"correlationId": ');

    const event = all.find((l) => l.kind === 'event')!;
    const raw = await run((io) => runDlqShow(String(event.id), { config }, io));
    expect(raw.out).toMatch(/event\s+c on public\.contacts/);
    expect(raw.out).toContain('"contact_no": "K1"');
    expect((await run((io) => runDlqShow('99999', { config }, io))).code).toBe(2);
  });

  it('refuses a discard without a reason, and logs one with a reason in the conflict chain', async () => {
    const target = (await letters()).find((l) => l.kind === 'event' && (l.payload as ChangeEvent).after?.name === 'Discard Me')!;
    const noReason = await run((io) => runDlqDiscard([String(target.id)], { config }, io));
    expect(noReason.code).toBe(2);
    expect(noReason.err).toMatch(/needs a reason/);
    expect((await run((io) => runDlqDiscard([], { config, reason: 'x' }, io))).code).toBe(2);

    const before = await verifyConflictChain(knex, SCHEMA);
    const discarded = await run((io) => runDlqDiscard([String(target.id)], { config, reason: 'contact was deleted in the ERP', by: 'ops-anna' }, io));
    expect(discarded.err).toBe('');
    expect(discarded.code).toBe(0);
    const row = await knex.withSchema(SCHEMA).table('dead_letters').where({ id: target.id }).first();
    expect(row).toMatchObject({ status: 'discarded', resolved_by: 'ops-anna', reason: 'contact was deleted in the ERP' });
    expect(row.resolved_at).toBeInstanceOf(Date);

    const [last] = await knex.withSchema(SCHEMA).table('conflicts').orderBy('id', 'desc').limit(1);
    expect(last).toMatchObject({
      decision: 'discarded', rule: `dead letter #${target.id} discarded by ops-anna: contact was deleted in the ERP`,
      system: 'erp', source_table: 'public.contacts', position: target.position, correlation_id: target.correlation_id,
    });
    expect(discarded.out).toContain(`logged as conflict #${last.id}`);
    const after = await verifyConflictChain(knex, SCHEMA);
    expect(after).toMatchObject({ ok: true, rows: before.rows + 1 });

    const again = await run((io) => runDlqDiscard([String(target.id)], { config, reason: 'twice' }, io));
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already discarded/);
  });

  it('retries task letters: the tasks go back to the outbox and the apply stage applies them', async () => {
    const taskLetters = (await letters()).filter((l) => l.kind === 'task');
    const retried = await run((io) => runDlqRetry([], { config, kind: 'task', by: 'ops-ben' }, io));
    expect(retried.err).toBe('');
    expect(retried.code).toBe(0);
    // One letter per record, however many writes to it failed (they folded into its exception).
    expect(taskLetters).toHaveLength(1);
    expect(retried.out).toContain('1 of 1 letter retried');
    const tasks = await knex.withSchema(SCHEMA).table('outbox').whereIn('id', taskLetters.map((l) => l.task_id as string));
    expect(tasks.every((t: { status: string; attempts: number }) => t.status === 'pending' && t.attempts === 0)).toBe(true);
    for (const l of await knex.withSchema(SCHEMA).table('dead_letters').whereIn('id', taskLetters.map((t) => t.id))) {
      expect(l).toMatchObject({ status: 'retried', resolved_by: 'ops-ben', resolution: `task #${l.task_id} queued again` });
    }

    await knex.raw('CREATE TABLE public.accounts (id text PRIMARY KEY, account_name text, email text, credit_limit numeric(12,2), segment text)');
    await knex.raw(`INSERT INTO public.accounts VALUES ('A1', 'Acme', 'a@acme.test', 100.00, 'retail')`);
    const crmTasks: Array<{ fields: Record<string, string> }> = await knex.withSchema(SCHEMA).table('outbox').where({ target: 'crm' }).orderBy('id');
    await applyCrm(3);
    // Carried out: tasks applied leave the outbox (only dead and superseded ones stay).
    const left = await knex.withSchema(SCHEMA).table('outbox').whereIn('id', taskLetters.map((l) => l.task_id as string)).select('status', 'outcome');
    expect(left.filter((t: { status: string; outcome: string | null }) => !(t.status === 'done' && t.outcome === 'superseded'))).toEqual([]);
    // The CRM row holds what the last of those writes carried (the CRM's own last edit needs no write back).
    const lastName = crmTasks.filter((t) => 'name' in t.fields).at(-1)!.fields.name;
    const { rows: [account] } = await knex.raw(`SELECT account_name, credit_limit::text FROM public.accounts WHERE id = 'A1'`);
    expect(account).toEqual({ account_name: lastName, credit_limit: (await getRecord(knex, SCHEMA, 'customer', 'erp:C1'))!.fields.credit_limit });
    expect(lastName).toBe('Acme Corp');
    expect((await run((io) => runDlqList({ config, kind: 'task' }, io))).out).toContain('0 open dead letters');
  });

  it('retries an event letter: parked again while unmapped, resolved once the mapping is fixed', async () => {
    const [letter] = (await letters()).filter((l) => l.kind === 'event' && l.status === 'open');
    const still = await run((io) => runDlqRetry([String(letter!.id)], { config, by: 'ops-ben' }, io));
    expect(still.code).toBe(0);
    expect(still.out).toMatch(/still failing, parked again as #\d+/);
    const reparked = (await letters()).filter((l) => l.kind === 'event' && l.status === 'open');
    expect(reparked).toHaveLength(1);
    expect(reparked[0]).toMatchObject({ position: letter!.position, correlation_id: letter!.correlation_id });
    expect(Number(reparked[0]!.id)).toBeGreaterThan(Number(letter!.id));
    expect(await knex.withSchema(SCHEMA).table('dead_letters').where({ id: letter!.id }).first()).toMatchObject({ status: 'retried', resolved_by: 'ops-ben' });

    const resolved = await run((io) => runDlqRetry([String(reparked[0]!.id)], { config: fixed }, io));
    expect(resolved.err).toBe('');
    expect(resolved.out).toMatch(/resolved \(1 event re-run through the resolve stage\)/);
    expect((await letters()).filter((l) => l.status === 'open')).toHaveLength(0);
    const contact = await getRecord(knex, SCHEMA, 'contact', 'erp:K1');
    expect(contact?.fields).toEqual({ name: 'Jo Contact' });
    expect((await run((io) => runDlqRetry([String(reparked[0]!.id)], { config: fixed }, io))).code).toBe(2);
  });

  it('exports exception aging as gauges, from one grouped query', async () => {
    await park(contactEvent(3, 'Old'));
    await park(contactEvent(4, 'Older'));
    const [a, b] = (await letters()).filter((l) => l.status === 'open');
    await knex.withSchema(SCHEMA).table('dead_letters').where({ id: a!.id }).update({ created_at: knex.raw(`now() - interval '2 days'`) });
    await knex.withSchema(SCHEMA).table('dead_letters').where({ id: b!.id }).update({ created_at: knex.raw(`now() - interval '3 hours'`) });
    await knex.withSchema(SCHEMA).table('dead_letters').insert({ kind: 'task', system: 'crm', error_code: 'X', error: 'x', payload: '{}', created_at: knex.raw(`now() - interval '10 days'`) });
    const metrics = createMetrics({
      lagSeconds: () => ({}), retainedBytes: async () => ({}), outboxDepth: async () => 0,
      deadLettersOpen: async () => 0, deadLetterAging: () => deadLetterAging(knex, SCHEMA),
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain('tandem_dead_letters_open{age_bucket="1d-7d",kind="event"} 1');
    expect(text).toContain('tandem_dead_letters_open{age_bucket="1h-24h",kind="event"} 1');
    expect(text).toContain('tandem_dead_letters_open{age_bucket=">7d",kind="task"} 1');
    expect(text).toContain('tandem_dead_letters_open{age_bucket="<1h",kind="event"} 0');
    const oldest = Number(/^tandem_dead_letters_oldest_age_seconds (\S+)$/m.exec(text)![1]);
    expect(oldest).toBeGreaterThanOrEqual(10 * 86_400);
    expect(oldest).toBeLessThan(10 * 86_400 + 600);
  });
});
