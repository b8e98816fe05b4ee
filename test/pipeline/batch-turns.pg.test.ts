/**
 * Two batches of one source resolved overlapping (the source loop's Turns):
 * the second may lock and read while the first finishes, but a record the
 * first is creating is read again once the first committed, everything
 * ordered waits for the first, and a first batch that fails takes the
 * second down with it.
 */
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeBatch, ChangeEvent, Row } from '../../src/capture';
import { compileRules } from '../../src/conflict';
import { silentLogger } from '../../src/log';
import { PipelineMetrics } from '../../src/pipeline/metrics';
import { resolveBatch } from '../../src/pipeline/resolve-stage';
import { writableFieldsOf } from '../../src/pipeline/runtime';
import { Turns } from '../../src/pipeline/source-loop';
import { connectStateStore, getRecord, KnexCrosswalk, loadCheckpoints, migrateStateStore } from '../../src/store';
import { compileMappings } from '../../src/transform';
import { createPgDatabase, requireEnv, TEST_ENV, type TestDatabase } from '../support';
import { configText, loadText, SCHEMA, T0 } from '../cli/review-fixture';

let seq = 0;
function erpBatch(before: Row | null, after: Row): ChangeBatch {
  seq++;
  const position = `${seq.toString(16).toUpperCase().padStart(16, '0')}:00000000`;
  const event: ChangeEvent = {
    op: before ? 'u' : 'c', before, after, unavailable: [], keyColumns: ['customer_no'],
    source: { system: 'erp', connector: 'postgresql', database: 'erp', schema: 'public', table: 'customers', position, txId: String(seq), commitTimeMs: T0 + seq, snapshot: 'false', origin: null },
    tsMs: T0 + seq, correlationId: `erp@${position}`,
  };
  return { system: 'erp', events: [event], position, sourceTimeMs: T0 + seq };
}

const row = (customer: string, name: string): Row => ({ customer_no: customer, name, email: 'x@y.test', credit_limit: '10.00', segment: 'retail' });

describe('overlapping batches of one source (PostgreSQL)', () => {
  requireEnv(TEST_ENV.pg);
  let db: TestDatabase;
  let knex: Knex;
  let blocker: Knex;

  const deps = () => {
    const loaded = loadText(configText());
    const registry = compileMappings(loaded.config.mappings);
    return {
      store: knex, schema: SCHEMA, registry, rules: compileRules(loaded.config.entities, loaded.version), dedup: null,
      originOf: () => null, writableFields: writableFieldsOf(registry), metrics: new PipelineMetrics(null), logger: silentLogger(),
    };
  };
  /** Holds the journal table locked from another session, so a batch stops just after it wrote its records. */
  async function withJournalLocked<T>(work: (blockerPid: number) => Promise<T>): Promise<T> {
    const trx = await blocker.transaction();
    try {
      await trx.raw('LOCK TABLE ??.journal_batches IN EXCLUSIVE MODE', [SCHEMA]);
      const { rows } = await trx.raw('SELECT pg_backend_pid() AS pid');
      return await work(rows[0].pid as number);
    } finally {
      await trx.rollback().catch(() => {});
    }
  }
  const waitingOnLock = async () => {
    const { rows } = await blocker.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ? AND wait_event_type = 'Lock'`, [db.name]);
    return rows[0].n as number;
  };
  const until = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 25));
  };

  beforeAll(async () => {
    db = await createPgDatabase('turns');
    knex = connectStateStore(db.url, 6);
    blocker = connectStateStore(db.url, 2);
    await migrateStateStore(knex, SCHEMA);
  });
  afterAll(async () => {
    await knex?.destroy();
    await blocker?.destroy();
    await db?.drop();
  });

  it('a record the first batch creates is read again by the second once the first committed, and updated on top of it', async () => {
    // Linked beforehand (say by a compare, or a record deleted and made again): otherwise the second batch's
    // own link insert would wait for the first batch's, and the record would never look missing to it.
    await new KnexCrosswalk(knex, SCHEMA).link('customer', 'erp', 'C7', 'erp:C7');
    const turns = new Turns();
    let secondDone = false;
    await withJournalLocked(async () => {
      const first = turns.start((turn) => resolveBatch(erpBatch(null, row('C7', 'Acme')), deps(), turn));
      await until(async () => (await waitingOnLock()) >= 1);
      const second = turns.start((turn) => resolveBatch(erpBatch(row('C7', 'Acme'), row('C7', 'Acme Corp')), deps(), turn));
      void second.then(() => (secondDone = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(secondDone).toBe(false);
      // Both are held back by now: the first by the lock, the second waiting for the first.
      return { first, second };
    }).then(async ({ first, second }) => {
      await first;
      await second;
    });
    const record = await getRecord(knex, SCHEMA, 'customer', 'erp:C7');
    expect(record).toMatchObject({ fields: { name: 'Acme Corp' }, version: 2 });
    const { rows } = await knex.raw(`SELECT count(*)::int AS n FROM ??.journal_batches`, [SCHEMA]);
    expect(rows[0].n).toBe(2);
  });

  it('when the first batch fails, the second fails too and leaves nothing behind', async () => {
    const before = await getRecord(knex, SCHEMA, 'customer', 'erp:C7');
    const checkpoint = (await loadCheckpoints(knex, SCHEMA)).find((c) => c.system === 'erp');
    const turns = new Turns();
    const outcome = await withJournalLocked(async () => {
      const first = turns.start((turn) => resolveBatch(erpBatch(null, row('C8', 'Beta')), deps(), turn));
      await until(async () => (await waitingOnLock()) >= 1);
      const second = turns.start((turn) => resolveBatch(erpBatch(row('C7', 'Acme Corp'), row('C7', 'Acme Group')), deps(), turn));
      await new Promise((r) => setTimeout(r, 200));
      // The first batch's session, waiting on the lock, is terminated: its transaction is gone.
      await blocker.raw(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND wait_event_type = 'Lock'`, [db.name]);
      return Promise.allSettled([first, second]);
    });
    expect(outcome.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(await getRecord(knex, SCHEMA, 'customer', 'erp:C7')).toEqual(before);
    expect(await getRecord(knex, SCHEMA, 'customer', 'erp:C8')).toBeNull();
    expect((await loadCheckpoints(knex, SCHEMA)).find((c) => c.system === 'erp')).toEqual(checkpoint);
  });
});
