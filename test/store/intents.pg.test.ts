import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyTask } from '../../src/apply';
import {
  claimTasks, connectStateStore, deleteIntents, enqueueTasks, InstanceLock, migrateStateStore, outboxDepth, readIntentTasks, recoverIntents, spillTasks, tasksBehindOutbox,
  updateLag, writeIntent, writeRecords, type NewTask,
} from '../../src/store';
import { createPgDatabase, requireEnv, type TestDatabase } from '../support';

const schema = 'tandem';

function task(key: string, n: number, target = 'crm'): NewTask {
  return {
    target, entity: 'customer', key, op: 'upsert', fields: { n }, expected: { n: n - 1 }, record: { n }, reason: 'propagate', correlationId: `erp@${n}`,
    commitTimeMs: 1_700_000_000_000 + n,
  };
}

const asApplyTask = (t: NewTask, id: string, intent: string): ApplyTask => ({ ...t, id, intent, attempts: 0, createdAtMs: Date.now() });

describe('apply intents and the instance lock (PostgreSQL)', () => {
  const adminUrl = requireEnv('TANDEM_TEST_PG_URL');
  let db: TestDatabase;
  let knex: Knex;

  beforeAll(async () => {
    db = await createPgDatabase('intents');
    knex = connectStateStore(db.url, 4);
    await migrateStateStore(knex, schema);
  });
  afterAll(async () => {
    await knex?.destroy();
    await db?.drop();
  });

  it('an intent draws ordered ids from the outbox sequence, counts as open work, and is gone once deleted', async () => {
    const written = await knex.transaction((trx) => writeIntent(trx, schema, [task('a', 1), task('b', 2), task('a', 3)]));
    const ids = written.ids.map(BigInt);
    expect(ids).toHaveLength(3);
    expect(ids[0]! < ids[1]! && ids[1]! < ids[2]!).toBe(true);
    const outboxTask = await knex.transaction((trx) => enqueueTasks(trx, schema, [task('c', 4)]));
    expect(BigInt(outboxTask[0]!) > ids[2]!).toBe(true);
    expect(await outboxDepth(knex, schema)).toBe(4);
    expect((await updateLag(knex, schema)).map((r) => r.entity)).toEqual(['customer']);
    await deleteIntents(knex, schema, [written.intentId]);
    expect(await outboxDepth(knex, schema)).toBe(1);
    await knex.withSchema(schema).table('outbox').delete();
  });

  it('a spilled task is listed once as open, and waits behind nothing older; a later task of its record waits behind it', async () => {
    const written = await knex.transaction((trx) => writeIntent(trx, schema, [task('s', 1), task('s', 2), task('t', 3)]));
    const [first, second, other] = [task('s', 1), task('s', 2), task('t', 3)].map((t, i) => asApplyTask(t, written.ids[i]!, written.intentId));
    expect(await tasksBehindOutbox(knex, schema, 'crm', [first!, other!])).toEqual(new Set());
    await spillTasks(knex, schema, [first!], 'me', 60_000);
    await spillTasks(knex, schema, [first!], 'me', 60_000); // already there: left alone
    // The view (status, console, compare) counts it once; the cheap depth gauge twice until its intent is swept.
    expect(await knex.withSchema(schema).table('open_tasks').count({ n: '*' })).toEqual([{ n: '3' }]);
    expect(await outboxDepth(knex, schema)).toBe(4);
    expect(await tasksBehindOutbox(knex, schema, 'crm', [second!, other!])).toEqual(new Set([second!.id]));
    expect(await tasksBehindOutbox(knex, schema, 'erp', [second!])).toEqual(new Set());
    const row = await knex.withSchema(schema).table('outbox').where({ id: first!.id }).first();
    expect(row).toMatchObject({ status: 'inflight', lease_owner: 'me', attempts: 1, fields: { n: 1 }, expected: { n: 0 }, record: { n: 1 } });
    await deleteIntents(knex, schema, [written.intentId]);
    await knex.withSchema(schema).table('outbox').delete();
  });

  it('the tasks of an intent for one target read back whole, in order, with their ids and record', async () => {
    const tasks = [task('x', 1), task('y', 2, 'erp'), task('x', 3)];
    const written = await knex.transaction((trx) => writeIntent(trx, schema, tasks));
    const read = await readIntentTasks(knex, schema, written.intentId, 'crm');
    expect(read.map((t) => [t.id, t.key, t.intent, t.attempts])).toEqual([[written.ids[0], 'x', written.intentId, 0], [written.ids[2], 'x', written.intentId, 0]]);
    expect(read[1]).toMatchObject({ op: 'upsert', fields: { n: 3 }, expected: { n: 2 }, record: { n: 3 }, reason: 'propagate', correlationId: 'erp@3', commitTimeMs: 1_700_000_000_003 });
    await deleteIntents(knex, schema, [written.intentId]);
  });

  it('recovery turns every intent into pending outbox tasks with the same ids and content, keeping spilled ones', async () => {
    await knex.transaction((trx) => writeRecords(trx, schema, [{
      entity: 'customer', key: 'r', fields: { n: 9, name: 'now' }, provenance: {}, positions: { erp: 'p9' }, shadows: {}, deleted: false, version: 3,
    }], new Set()));
    const one = await knex.transaction((trx) => writeIntent(trx, schema, [task('r', 1), task('q', 2)]));
    const two = await knex.transaction((trx) => writeIntent(trx, schema, [task('r', 3)]));
    await spillTasks(knex, schema, [asApplyTask(task('q', 2), one.ids[1]!, one.intentId)], 'gone-instance', 60_000);
    expect(await recoverIntents(knex, schema)).toBe(2);
    expect(await knex.withSchema(schema).table('apply_intents').count({ n: '*' })).toEqual([{ n: '0' }]);
    const rows = await knex.withSchema(schema).table('outbox').orderBy('id').select('id', 'key', 'status', 'fields', 'expected', 'record', 'commit_ms');
    expect(rows.map((r) => [String(r.id), r.key, r.status])).toEqual([
      [one.ids[0], 'r', 'pending'], [one.ids[1], 'q', 'inflight'], [two.ids[0], 'r', 'pending'],
    ]);
    expect(rows[0]).toMatchObject({ fields: { n: 1 }, expected: { n: 0 }, record: { n: 1 }, commit_ms: String(1_700_000_000_001) });
    // Claimed in order: the record's first task, then (once it is done) its second.
    const claimed = await claimTasks(knex, schema, 'crm', 10, 'next', 60_000);
    expect(claimed.map((t) => t.id)).toEqual([one.ids[0]]);
    await knex.withSchema(schema).table('outbox').delete();
  });

  it('a second single instance waits as a standby; scale-out instances share, and never run beside a single one', async () => {
    const waits: number[] = [];
    const first = await InstanceLock.acquire({ url: db.url, schema, mode: 'single' });
    const second = InstanceLock.acquire({ url: db.url, schema, mode: 'single', retryMs: 50, onWait: (ms) => waits.push(ms) });
    const scaleOut = InstanceLock.acquire({ url: db.url, schema, mode: 'scale-out', retryMs: 50 });
    await new Promise((r) => setTimeout(r, 400));
    expect(waits.length).toBeGreaterThan(2);
    await first.release();
    const winner = await Promise.race([second.then(() => 'single'), scaleOut.then(() => 'scale-out')]);
    // Whichever got it, the other kind still waits; once it is released the other gets it.
    const [held, waiting] = winner === 'single' ? [await second, scaleOut] : [await scaleOut, second];
    let settled = false;
    void waiting.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    await held.release();
    await (await waiting).release();
    // Another schema is another lock.
    const elsewhere = await InstanceLock.acquire({ url: db.url, schema: 'other', mode: 'single' });
    const here = await InstanceLock.acquire({ url: db.url, schema, mode: 'single' });
    await Promise.all([elsewhere.release(), here.release()]);
  });

  it('a lock whose session is terminated is taken again', async () => {
    const lost: string[] = [];
    const sessions: string[] = [];
    const lock = await InstanceLock.acquire({ url: db.url, schema, mode: 'single', onLost: (r) => lost.push(r), onSessionLost: (r) => sessions.push(r) });
    const admin = connectStateStore(adminUrl, 1);
    try {
      await admin.raw(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = ?)`, [db.name]);
      const deadline = Date.now() + 10_000;
      let holders = 0;
      while (Date.now() < deadline) {
        const { rows } = await admin.raw(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = ?)`, [db.name]);
        holders = rows[0].n;
        if (sessions.length > 0 && holders === 1) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(sessions.length).toBeGreaterThan(0);
      expect(holders).toBe(1);
      expect(lost).toEqual([]);
    } finally {
      await lock.release();
      await admin.destroy();
    }
  });
});
