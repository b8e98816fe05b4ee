import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConflictEntry } from '../../src/conflict';
import {
  appendConflicts, claimTasks, completeTask, connectStateStore, enqueueTasks, getRecord, lockRecords, markTaskDead, migrateStateStore,
  outboxDepth, retryTaskLater, saveRecords, verifyConflictChain, type NewTask,
} from '../../src/store';
import { createPgDatabase, requireEnv, type TestDatabase } from '../support';

const schema = 'tandem';

function entry(n: number): ConflictEntry {
  return {
    entity: 'customer', key: `erp:C${n}`, field: 'credit_limit', system: 'crm', table: 'public.accounts',
    position: `${n.toString(16).padStart(16, '0')}:00000000`, txId: String(700 + n), commitTimeMs: 1_700_000_000_000 + n,
    correlationId: `crm@${n}`, attempted: `${n}.00`, before: '1.00', current: '1.00', kept: '1.00',
    rule: 'customer.credit_limit owner=erp', outcome: 'rejected', corrected: true,
    patch: [{ op: 'replace', path: '/credit_limit', value: `${n}.00` }],
  };
}

function task(key: string, n: number): NewTask {
  return { target: 'crm', entity: 'customer', key, op: 'upsert', fields: { n }, expected: {}, record: { n }, reason: 'propagate', correlationId: `erp@${n}` };
}

describe('state store on PostgreSQL', () => {
  requireEnv('TANDEM_TEST_PG_URL');
  let db: TestDatabase;
  let knex: Knex;

  beforeAll(async () => {
    db = await createPgDatabase('store');
    knex = connectStateStore(db.url, 4);
    await migrateStateStore(knex, schema);
    await migrateStateStore(knex, schema); // idempotent
  });
  afterAll(async () => {
    await knex?.destroy();
    await db?.drop();
  });

  describe('records', () => {
    it('keep each field\u2019s commit-time precision where it is coarser than a millisecond (binlog seconds)', async () => {
      const provenance = {
        title: { system: 'shop', commitTimeMs: 1_700_000_001_000, commitTimePrecisionMs: 1000, position: 'p1', correlationId: 'shop@p1' },
        price: { system: 'shop', commitTimeMs: 1_700_000_001_000, commitTimePrecisionMs: 1000, position: 'p1', correlationId: 'shop@p1' },
        name: { system: 'erp', commitTimeMs: 1_700_000_001_234, position: 'p2', correlationId: 'erp@p2' },
      };
      await knex.transaction(async (trx) => {
        const records = await lockRecords(trx, schema, [{ entity: 'product', key: 'k1' }]);
        const record = [...records.values()][0]!;
        await saveRecords(trx, schema, [{ ...record, fields: { title: 't', price: '1', name: 'n' }, provenance, positions: { shop: 'p1', erp: 'p2' }, version: 1 }]);
      });
      expect((await getRecord(knex, schema, 'product', 'k1'))!.provenance).toEqual(provenance);
    });
  });

  describe('conflict log', () => {
    it('chains appended rows and verifies them', async () => {
      await knex.transaction((trx) => appendConflicts(trx, schema, [entry(1), entry(2)], 'v1'));
      await knex.transaction((trx) => appendConflicts(trx, schema, [entry(3)], 'v1'));
      const rows = await knex.withSchema(schema).table('conflicts').orderBy('id');
      expect(rows).toHaveLength(3);
      expect(rows[0].prev_hash).toBe('genesis');
      expect(rows[1].prev_hash).toBe(rows[0].hash);
      expect(rows[2].prev_hash).toBe(rows[1].hash);
      expect(rows[1]).toMatchObject({ decision: 'rejected', rule: 'customer.credit_limit owner=erp', attempted: '2.00', kept_value: '1.00', rules_version: 'v1' });
      expect(await verifyConflictChain(knex, schema)).toEqual({ ok: true, rows: 3, anchorsMatched: 0, head: { seq: String(rows[2].id), hash: rows[2].hash } });
    });

    it('refuses UPDATE and DELETE through the trigger', async () => {
      await expect(knex.withSchema(schema).table('conflicts').update({ kept_value: JSON.stringify('9.99') })).rejects.toThrow(/append-only/);
      await expect(knex.withSchema(schema).table('conflicts').delete()).rejects.toThrow(/append-only/);
    });

    it('names the altered row when someone edits it with the trigger disabled', async () => {
      const [second] = await knex.withSchema(schema).table('conflicts').orderBy('id').offset(1).limit(1);
      await tamper(`UPDATE ${schema}.conflicts SET kept_value = '"9.99"' WHERE id = ${second.id}`);
      const verdict = await verifyConflictChain(knex, schema);
      expect(verdict.ok).toBe(false);
      expect(verdict.firstBad).toEqual({ id: String(second.id), problem: expect.stringMatching(/altered/) });
      await tamper(`UPDATE ${schema}.conflicts SET kept_value = '"1.00"' WHERE id = ${second.id}`);
      expect((await verifyConflictChain(knex, schema)).ok).toBe(true);
    });

    it('names the row after a deleted one', async () => {
      const rows = await knex.withSchema(schema).table('conflicts').orderBy('id');
      await tamper(`DELETE FROM ${schema}.conflicts WHERE id = ${rows[1].id}`);
      const verdict = await verifyConflictChain(knex, schema);
      expect(verdict).toMatchObject({ ok: false, firstBad: { id: String(rows[2].id), problem: expect.stringMatching(/link/) } });
    });

    async function tamper(sql: string) {
      await knex.transaction(async (trx) => {
        await trx.raw(`ALTER TABLE ${schema}.conflicts DISABLE TRIGGER conflicts_append_only`);
        await trx.raw(sql);
        await trx.raw(`ALTER TABLE ${schema}.conflicts ENABLE TRIGGER conflicts_append_only`);
      });
    }
  });

  describe('outbox', () => {
    it('hands out only the oldest open task of each record, in order', async () => {
      await knex.transaction((trx) => enqueueTasks(trx, schema, [task('A', 1), task('B', 2), task('A', 3), task('C', 4)]));
      const first = await claimTasks(knex, schema, 'crm', 10, 'me', 60_000);
      expect(first.map((t) => [t.key, t.fields.n])).toEqual([['A', 1], ['B', 2], ['C', 4]]);
      expect(await claimTasks(knex, schema, 'crm', 10, 'other', 60_000)).toEqual([]);

      // A failing head holds back its record only.
      await retryTaskLater(knex, schema, first[0]!.id, 'me', 'boom', 60_000);
      await completeTask(knex, schema, first[1]!.id, 'me', 'applied');
      await markTaskDead(knex, schema, first[2]!.id, 'me', 'rejected');
      expect(await claimTasks(knex, schema, 'crm', 10, 'me', 60_000)).toEqual([]);
      expect(await outboxDepth(knex, schema)).toBe(2);

      await knex.withSchema(schema).table('outbox').where({ id: first[0]!.id }).update({ next_attempt_at: knex.fn.now() });
      const retried = await claimTasks(knex, schema, 'crm', 10, 'me', 60_000);
      expect(retried.map((t) => [t.key, t.fields.n, t.attempts])).toEqual([['A', 1, 1]]);
      await completeTask(knex, schema, retried[0]!.id, 'me', 'applied');
      expect((await claimTasks(knex, schema, 'crm', 10, 'me', 60_000)).map((t) => t.fields.n)).toEqual([3]);
    });

    it('lets another instance take over a task whose lease expired', async () => {
      await knex.transaction((trx) => enqueueTasks(trx, schema, [task('Z', 9)]));
      const [mine] = await claimTasks(knex, schema, 'crm', 10, 'crashed', 1000);
      await knex.withSchema(schema).table('outbox').where({ id: mine!.id }).update({ lease_until: knex.raw(`now() - interval '1 second'`) });
      const [theirs] = await claimTasks(knex, schema, 'crm', 10, 'survivor', 60_000);
      expect(theirs?.id).toBe(mine!.id);
      // The crashed instance can no longer complete it.
      await completeTask(knex, schema, mine!.id, 'crashed', 'applied');
      const row = await knex.withSchema(schema).table('outbox').where({ id: mine!.id }).first();
      expect(row.status).toBe('inflight');
    });
  });
});
