/**
 * `tandem replay` against a state store filled by the real resolve stage:
 * replaying the journal over intact records skips every change as already
 * applied (and writes nothing); after a record's state is lost, a replay
 * re-creates it from the journal and queues its writes again.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferIo } from '../../src/cli/io';
import { parseBound, runReplay, type ReplayOptions } from '../../src/cli/replay-command';
import { connectStateStore, getRecord, migrateStateStore, verifyConflictChain } from '../../src/store';
import { createPgDatabase, requireEnv, TEST_ENV, type TestDatabase } from '../support';
import { configText, fillStateStore, loadText, SCHEMA } from './review-fixture';

async function replay(options: ReplayOptions) {
  const io = bufferIo();
  const code = await runReplay(options, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

/** The counts table as numbers, by row label. */
function counts(out: string): Record<string, number> {
  const result: Record<string, number> = {};
  for (const m of out.matchAll(/^(.+?)\s{2,}(\d+)$/gm)) result[m[1]!.trim()] = Number(m[2]);
  return result;
}

describe('tandem replay against PostgreSQL', () => {
  requireEnv(TEST_ENV.pg);
  let db: TestDatabase;
  let knex: Knex;
  let dir: string;
  let config: string;
  const count = async (table: string) => Number((await knex.withSchema(SCHEMA).table(table).count('* as n'))[0]!.n);

  beforeAll(async () => {
    db = await createPgDatabase('cli_replay');
    process.env.CLI_STATE_URL = db.url;
    dir = mkdtempSync(join(tmpdir(), 'tandem-replay-'));
    config = join(dir, 'tandem.yaml');
    writeFileSync(config, configText());
    knex = connectStateStore(db.url, 2);
    await migrateStateStore(knex, SCHEMA);
    await fillStateStore(knex, loadText(configText(), config));
  });
  afterAll(async () => {
    await knex?.destroy();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('tells times from positions', () => {
    const now = new Date('2025-03-02T00:00:00Z');
    expect(parseBound('2025-03-01T12:00:00Z', now)).toEqual({ time: new Date('2025-03-01T12:00:00Z') });
    expect(parseBound('2025-03-01', now)).toEqual({ time: new Date('2025-03-01T00:00:00Z') });
    expect(parseBound('2h', now)).toEqual({ time: new Date('2025-03-01T22:00:00Z') });
    expect(parseBound('0000000000000003:00000000', now)).toEqual({ position: '0000000000000003:00000000' });
    expect(parseBound('12345', now)).toEqual({ position: '12345' });
  });

  it('skips every journal entry as already applied, and writes nothing', async () => {
    const journal = await count('journal');
    expect(journal).toBe(8);
    const [outbox, conflicts] = [await count('outbox'), await count('conflicts')];
    const dry = await replay({ config, from: '2025-03-01T11:00:00Z', dryRun: true });
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/^dry run \(nothing written\)/);
    expect(counts(dry.out)).toMatchObject({ 'would be replayed': 8, 'skipped, already applied': 8, 'new decisions': 0, 'tasks would be enqueued': 0 });

    const done = await replay({ config, from: '2025-03-01T11:00:00Z' });
    expect(done.err).toBe('');
    expect(done.code).toBe(0);
    expect(counts(done.out)).toMatchObject({ replayed: 8, 'skipped, already applied': 8, 'new decisions': 0, 'tasks enqueued': 0, 'conflicts logged': 0 });
    expect([await count('outbox'), await count('conflicts'), await count('journal')]).toEqual([outbox, conflicts, journal]);
  });

  it('selects by time range and by a system\u2019s positions', async () => {
    expect(counts((await replay({ config, from: '2025-03-01T12:00:05Z', dryRun: true })).out)['would be replayed']).toBe(3);
    expect(counts((await replay({ config, from: '2025-03-01T11:00:00Z', until: '2025-03-01T12:00:02Z', dryRun: true })).out)['would be replayed']).toBe(2);
    expect(counts((await replay({ config, from: '0000000000000002:00000000', system: 'erp', dryRun: true })).out)['would be replayed']).toBe(1);
    expect(counts((await replay({ config, from: '0000000000000001:00000000', system: 'crm' })).out)).toMatchObject({ replayed: 6, 'skipped, already applied': 6 });

    const noSystem = await replay({ config, from: '0000000000000001:00000000' });
    expect(noSystem.code).toBe(2);
    expect(noSystem.err).toMatch(/positions are per system/);
    expect((await replay({ config, from: '1', system: 'sap' })).code).toBe(2);

    // Asking for more than the journal holds is only worth a note once retention has pruned it.
    expect((await replay({ config, from: '2020-01-01T00:00:00Z', dryRun: true })).err).toBe('');
    await knex.withSchema(SCHEMA).table('journal_batches').update({ recorded_at: knex.raw(`recorded_at - interval '8 days'`) });
    const early = await replay({ config, from: '2020-01-01T00:00:00Z', dryRun: true });
    await knex.withSchema(SCHEMA).table('journal_batches').update({ recorded_at: knex.raw(`recorded_at + interval '8 days'`) });
    expect(early.err).toMatch(/the journal starts at 2025-03-01T12:00:00.000Z \(journal.retentionHours 168\)/);
  });

  it('re-creates a record whose state was lost, and queues its writes', async () => {
    const original = await getRecord(knex, SCHEMA, 'customer', 'erp:C1');
    await knex.withSchema(SCHEMA).table('records').where({ entity: 'customer', key: 'erp:C1' }).delete();
    const outbox = await count('outbox');

    const dry = await replay({ config, from: '2025-03-01T11:00:00Z', dryRun: true });
    const would = counts(dry.out);
    expect(would['new decisions']).toBe(8);
    expect(would['tasks would be enqueued']).toBeGreaterThan(0);
    expect(await getRecord(knex, SCHEMA, 'customer', 'erp:C1')).toBeNull();
    expect(await count('outbox')).toBe(outbox);

    const done = await replay({ config, from: '2025-03-01T11:00:00Z' });
    expect(done.code).toBe(0);
    const did = counts(done.out);
    expect(did).toMatchObject({ replayed: 8, 'skipped, already applied': 0, 'new decisions': 8, 'tasks enqueued': would['tasks would be enqueued'] });
    const recreated = await getRecord(knex, SCHEMA, 'customer', 'erp:C1');
    expect(recreated!.fields).toEqual(original!.fields);
    expect(recreated!.positions).toEqual(original!.positions);
    expect(await count('outbox')).toBe(outbox + did['tasks enqueued']!);
    expect((await verifyConflictChain(knex, SCHEMA)).ok).toBe(true);

    // And once more: everything is there again, so everything is skipped.
    expect(counts((await replay({ config, from: '2025-03-01T11:00:00Z' })).out)).toMatchObject({ 'skipped, already applied': 8, 'tasks enqueued': 0 });
  });
});
