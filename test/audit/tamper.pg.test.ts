/**
 * The anchored conflict log against a real PostgreSQL. A log of seven rows is
 * written through `appendConflicts` with the pipeline's checkpointer (a
 * signed checkpoint every two rows) and published to a checkpoint file. Then
 * each tampering is done as a superuser would, with the triggers switched off
 * (`session_replication_role = replica`), and `tandem conflicts verify` must
 * exit 1 naming the row, given the checkpoint file and public key or an
 * expected head recorded before the tampering.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAudit, generateSigningKeyPair, parseCheckpointLine, type AuditRuntime } from '../../src/audit';
import { runConflictsVerify, type VerifyOptions } from '../../src/cli/conflicts/verify';
import { bufferIo } from '../../src/cli/io';
import { chainHash, hashedContent, type ConflictEntry } from '../../src/conflict';
import { silentLogger } from '../../src/log';
import { appendConflicts, connectStateStore, migrateStateStore } from '../../src/store';
import { createPgDatabase, requireEnv, TEST_ENV, type TestDatabase } from '../support';
import { runTandem } from '../e2e/child';
import { configText } from '../cli/review-fixture';

const ROWS = 7;
const keys = generateSigningKeyPair();

function entry(n: number): ConflictEntry {
  return {
    entity: 'customer', key: `erp:C${n}`, field: 'credit_limit', system: 'crm', table: 'public.accounts',
    position: `${n.toString(16).padStart(16, '0')}:00000000`, txId: String(100 + n), commitTimeMs: Date.parse('2026-11-01T00:00:00Z') + n * 1000,
    correlationId: `crm@${n}`, attempted: `${n}99.00`, before: '100.00', current: '100.00', kept: '100.00',
    rule: 'customer.credit_limit owner=erp', outcome: 'rejected', patch: [{ op: 'replace', path: '/credit_limit', value: `${n}99.00` }], corrected: true,
  };
}

describe('anchored conflict log: tampering as a superuser is detected', () => {
  requireEnv(TEST_ENV.pg);
  let db: TestDatabase;
  let knex: Knex;
  let dir: string;
  let publicKeyFile: string;
  let counter = 0;

  beforeAll(async () => {
    db = await createPgDatabase('audit_tamper');
    knex = connectStateStore(db.url, 4);
    dir = mkdtempSync(join(tmpdir(), 'tandem-audit-'));
    publicKeyFile = join(dir, 'audit.pub');
    writeFileSync(publicKeyFile, keys.publicPem);
  });
  afterAll(async () => {
    await knex?.destroy();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh log in its own schema: ROWS rows, one batch each, checkpointed every 2 rows and published to a file. */
  async function freshLog() {
    const schema = `audit_${++counter}`;
    const env = { AUDIT_STATE_URL: db.url, AUDIT_KEY: keys.privatePem };
    process.env.AUDIT_STATE_URL = db.url;
    const config = join(dir, `${schema}.yaml`);
    writeFileSync(config, configText().replace('schema: tandem', `schema: ${schema}`).replaceAll('CLI_STATE_URL', 'AUDIT_STATE_URL'));
    const checkpoints = join(dir, `${schema}.checkpoints.jsonl`);
    await migrateStateStore(knex, schema);
    const audit: AuditRuntime = createAudit(
      { signingKey: { env: 'AUDIT_KEY' }, checkpointEvery: { rows: 2, interval: 3_600_000 }, sinks: { file: checkpoints } },
      { store: knex, schema, logger: silentLogger(), env, baseDir: dir },
    );
    const ids: string[] = [];
    for (let n = 1; n <= ROWS; n++) ids.push(...await knex.transaction((trx) => appendConflicts(trx, schema, [entry(n)], 'v1', audit.checkpointer)));
    expect(await audit.publishPending()).toBe(4);
    await audit.close();
    const verify = (options: Omit<VerifyOptions, 'config'> = {}) => run({ config, ...options });
    const intact = await verify({ checkpoints, publicKey: [publicKeyFile] });
    expect(intact.code).toBe(0);
    const head = /^head: (\d+:[0-9a-f]{64})$/m.exec(intact.out)![1]!;
    return { schema, config, checkpoints, ids, head, verify, withFile: { checkpoints, publicKey: [publicKeyFile] } };
  }

  async function run(options: VerifyOptions) {
    const io = bufferIo();
    const code = await runConflictsVerify(options, io);
    return { code, out: io.stdout(), err: io.stderr() };
  }

  /** What someone with superuser rights can do: run statements with every trigger off. */
  async function asSuperuser(body: (trx: Knex.Transaction) => Promise<void>) {
    await knex.transaction(async (trx) => {
      await trx.raw('SET LOCAL session_replication_role = replica');
      await body(trx);
    });
  }

  async function rows(schema: string): Promise<Array<Record<string, unknown>>> {
    return knex.withSchema(schema).table('conflicts').orderBy('id');
  }

  /** A forger's recomputation: every hash from `fromIndex` on, as tandem computes them, and the head. */
  async function recomputeFrom(trx: Knex.Transaction, schema: string, fromIndex: number) {
    const all: Array<Record<string, unknown>> = await trx.withSchema(schema).table('conflicts').orderBy('id');
    let prev = fromIndex === 0 ? 'genesis' : (all[fromIndex - 1]!.hash as string);
    for (const row of all.slice(fromIndex)) {
      const hash = chainHash(prev, hashedContent(new Date(row.logged_at as string).toISOString(), row.rules_version as string, entryOfRow(row)));
      await trx.withSchema(schema).table('conflicts').where({ id: row.id }).update({ prev_hash: prev, hash });
      prev = hash;
    }
    await trx.withSchema(schema).table('conflict_chain_head').where({ id: 1 }).update({ hash: prev, last_id: all.at(-1)!.id });
  }

  it('writes a signed checkpoint every two rows, in the state store and the file, and verify prints the head', async () => {
    const log = await freshLog();
    const lines = readFileSync(log.checkpoints, 'utf8').trim().split('\n').map(parseCheckpointLine);
    expect(lines.map((c) => c.seq)).toEqual([log.ids[0], log.ids[2], log.ids[4], log.ids[6]]);
    expect(lines.every((c) => c.keyId === keys.keyId)).toBe(true);
    const stored = await knex.withSchema(log.schema).table('audit_checkpoints').orderBy('id');
    expect(stored.map((c) => [String(c.seq), c.signature])).toEqual(lines.map((c) => [c.seq, c.signature]));
    const all = await rows(log.schema);
    expect(log.head).toBe(`${all.at(-1)!.id}:${all.at(-1)!.hash}`);
    const ok = await log.verify({ ...log.withFile, expectHead: log.head });
    expect(ok.code).toBe(0);
    expect(ok.out).toContain(`conflict log intact: ${ROWS} rows checked`);
    expect(ok.out).toContain('anchors: 9 of 9 match the log');
  });

  it('a log that grows while verify reads it still verifies (one snapshot for the head and the rows)', async () => {
    const log = await freshLog();
    let appending = true;
    const appender = (async () => {
      for (let n = 100; appending; n++) await knex.transaction((trx) => appendConflicts(trx, log.schema, [entry(n), entry(n + 1000)], 'v1'));
    })();
    try {
      for (let i = 0; i < 5; i++) {
        const r = await log.verify(log.withFile);
        expect(r.out).toContain('conflict log intact');
        expect(r.code).toBe(0);
      }
    } finally {
      appending = false;
      await appender;
    }
  });

  it('the head moves only forward, onto a logged row; checkpoints cannot be changed (triggers on)', async () => {
    const log = await freshLog();
    const head = () => knex.withSchema(log.schema).table('conflict_chain_head').where({ id: 1 });
    await expect(head().update({ last_id: log.ids[4], hash: (await rows(log.schema))[4]!.hash })).rejects.toThrow(/cannot move back/);
    await expect(head().update({ last_id: Number(log.ids[6]) + 5, hash: 'f'.repeat(64) })).rejects.toThrow(/must name a logged row/);
    await expect(head().delete()).rejects.toThrow(/only moves forward: DELETE refused/);
    await expect(knex.withSchema(log.schema).table('conflict_chain_head').insert({ id: 2, hash: 'genesis', last_id: 0 })).rejects.toThrow(/INSERT refused/);
    await expect(knex.withSchema(log.schema).table('audit_checkpoints').update({ hash: 'x' })).rejects.toThrow(/append-only/);
    await expect(knex.withSchema(log.schema).table('audit_checkpoints').delete()).rejects.toThrow(/append-only/);
    // A row appended by hand with a broken link cannot become the head.
    const last = (await rows(log.schema)).at(-1)!;
    await knex.raw(`INSERT INTO ??.conflicts SELECT ${Number(last.id) + 1}, logged_at, correlation_id, entity, key, field, system, source_table, position, tx_id, commit_time,
      attempted, before_value, current_value, kept_value, rule, rules_version, decision, corrected, patch, 'not-the-head', 'forged-hash' FROM ??.conflicts WHERE id = ?`, [log.schema, log.schema, last.id]);
    await expect(head().update({ last_id: Number(last.id) + 1, hash: 'forged-hash' })).rejects.toThrow(/do not link to it/);
  });

  it('UPDATE of one row: named as altered', async () => {
    const log = await freshLog();
    await asSuperuser((trx) => trx.withSchema(log.schema).table('conflicts').where({ id: log.ids[3] }).update({ kept_value: JSON.stringify('999.00') }));
    for (const options of [{}, log.withFile, { expectHead: log.head }]) {
      const r = await log.verify(options);
      expect(r.code).toBe(1);
      expect(r.out).toContain(`conflict log TAMPERED: row #${log.ids[3]}: its content does not match its hash (the row was altered)`);
    }
  });

  it('DELETE of the tail and the head moved back: only the anchors see it, and name the first missing row', async () => {
    const log = await freshLog();
    const all = await rows(log.schema);
    await asSuperuser(async (trx) => {
      await trx.withSchema(log.schema).table('conflicts').where('id', '>', log.ids[4]!).delete();
      await trx.withSchema(log.schema).table('audit_checkpoints').where('seq', '>', log.ids[4]!).delete();
      await trx.withSchema(log.schema).table('conflict_chain_head').where({ id: 1 }).update({ last_id: log.ids[4], hash: all[4]!.hash });
    });
    // The database alone is consistent again: this is why the anchors exist.
    expect((await log.verify()).code).toBe(0);

    const byFile = await log.verify(log.withFile);
    expect(byFile.code).toBe(1);
    expect(byFile.out).toContain(`conflict log TAMPERED: row #${log.ids[6]}: the row is gone: the checkpoint signed at`);
    expect(byFile.out).toContain(`but the log ends at row #${log.ids[4]} (the newest rows were removed)`);

    const byHead = await log.verify({ expectHead: log.head });
    expect(byHead.code).toBe(1);
    expect(byHead.out).toContain(`row #${log.ids[6]}: the row is gone: the expected head`);

    // The binary, as an auditor runs it.
    const bin = await runTandem(['conflicts', 'verify', '-c', log.config, '--checkpoints', log.checkpoints, '--public-key', publicKeyFile], { AUDIT_STATE_URL: db.url });
    expect(bin.code).toBe(1);
    expect(bin.stdout).toContain(`conflict log TAMPERED: row #${log.ids[6]}: the row is gone`);
    expect(bin.stdout).toMatch(new RegExp(`^head: ${log.ids[4]}:${all[4]!.hash}$`, 'm'));
  });

  it('the head alone moved back: the rows past it are named', async () => {
    const log = await freshLog();
    const all = await rows(log.schema);
    await asSuperuser((trx) => trx.withSchema(log.schema).table('conflict_chain_head').where({ id: 1 }).update({ last_id: log.ids[2], hash: all[2]!.hash }));
    const r = await log.verify();
    expect(r.code).toBe(1);
    expect(r.out).toContain(`row #${log.ids[3]}: it lies beyond the chain head (row #${log.ids[2]})`);
  });

  it('an edit with every later hash and the head recomputed (and the stored checkpoints deleted): the first checkpoint after it is named', async () => {
    const log = await freshLog();
    await asSuperuser(async (trx) => {
      await trx.withSchema(log.schema).table('conflicts').where({ id: log.ids[1] }).update({ kept_value: JSON.stringify('999.00') });
      await recomputeFrom(trx, log.schema, 1);
      await trx.withSchema(log.schema).table('audit_checkpoints').delete();
    });
    expect((await log.verify()).code).toBe(0);

    const byFile = await log.verify(log.withFile);
    expect(byFile.code).toBe(1);
    expect(byFile.out).toContain(`conflict log TAMPERED: row #${log.ids[2]}: its hash`);
    expect(byFile.out).toContain(`no longer matches the checkpoint signed at`);
    expect(byFile.out).toContain(`a row among #${log.ids[1]}..#${log.ids[2]} was rewritten (the newest earlier anchor, row #${log.ids[0]}, still matches) and the hashes after it recomputed`);

    const byHead = await log.verify({ expectHead: log.head });
    expect(byHead.code).toBe(1);
    expect(byHead.out).toContain(`row #${log.ids[6]}: its hash`);
    expect(byHead.out).toContain('no longer matches the expected head');
  });

  it('with the stored checkpoints left in place, they alone catch a recomputed chain', async () => {
    const log = await freshLog();
    await asSuperuser(async (trx) => {
      await trx.withSchema(log.schema).table('conflicts').where({ id: log.ids[4] }).update({ attempted: JSON.stringify('1.00') });
      await recomputeFrom(trx, log.schema, 4);
    });
    const r = await log.verify();
    expect(r.code).toBe(1);
    expect(r.out).toContain(`row #${log.ids[4]}: its hash`);
    expect(r.out).toContain(`no longer matches the state store's checkpoint`);
    expect(r.out).toContain(`a row among #${log.ids[3]}..#${log.ids[4]} was rewritten (the newest earlier anchor, row #${log.ids[2]}, still matches)`);
  });

  it('a forged row with a correct hash appended after the newest checkpoint, backdated, and the head moved to it: named', async () => {
    const log = await freshLog();
    const all = await rows(log.schema);
    const last = all.at(-1)!;
    const forgedId = String(Number(last.id) + 1);
    let loggedAt = '';
    await asSuperuser(async (trx) => {
      // A copy of an older row, dated a day before it (an entry made to look historical), with a forged value.
      loggedAt = await insertForged(trx, log.schema, all[3]!.id as string, forgedId, `'"5000.00"'::jsonb`, last.hash as string, 86_400_000);
      const { hash } = await trx.withSchema(log.schema).table('conflicts').where({ id: forgedId }).first('hash');
      await trx.withSchema(log.schema).table('conflict_chain_head').where({ id: 1 }).update({ last_id: forgedId, hash });
    });
    // The chain and the head agree with each other; the checkpoints (here even those in the database) do not.
    for (const options of [{}, log.withFile]) {
      const r = await log.verify(options);
      expect(r.code).toBe(1);
      expect(r.out).toContain(`conflict log TAMPERED: row #${forgedId}: it was logged at ${loggedAt}, before the`);
      expect(r.out).toContain(`which ends at row #${last.id}; yet it lies after that row: it was added afterwards`);
    }
  });

  it('a forged row with a correct hash inserted between two rows: named, not the row after it', async () => {
    const log = await freshLog();
    const all = await rows(log.schema);
    const forgedId = String(Number(all[2]!.id) + 1);
    await asSuperuser(async (trx) => {
      // Room for it: the rows after the third move up by ten (as a forger renumbering would), links untouched.
      await trx.raw('UPDATE ??.conflicts SET id = id + 10 WHERE id > ?', [log.schema, all[2]!.id]);
      await insertForged(trx, log.schema, String(Number(all[3]!.id) + 10), forgedId, `'"5000.00"'::jsonb`, all[2]!.hash as string);
    });
    const r = await log.verify();
    expect(r.code).toBe(1);
    expect(r.out).toContain(`row #${forgedId}: it was inserted out of place: the row after it links to the row before it`);
  });

  /**
   * Inserts a copy of row `fromId` as `id` with `kept` as its kept value,
   * dated `backdateMs` earlier, linked to `prevHash` and hashed exactly as
   * tandem hashes; returns its logged_at.
   */
  async function insertForged(trx: Knex.Transaction, schema: string, fromId: string, id: string, kept: string, prevHash: string, backdateMs = 0): Promise<string> {
    await trx.raw(`INSERT INTO ??.conflicts SELECT ?, logged_at - interval '${backdateMs} milliseconds', correlation_id, entity, key, field, system, source_table, position, tx_id, commit_time,
      attempted, before_value, current_value, ${kept}, rule, rules_version, decision, corrected, patch, ?, 'pending-' || ? FROM ??.conflicts WHERE id = ?`, [schema, id, prevHash, id, schema, fromId]);
    const row = await trx.withSchema(schema).table('conflicts').where({ id }).first();
    const loggedAt = new Date(row.logged_at as string).toISOString();
    await trx.withSchema(schema).table('conflicts').where({ id }).update({ hash: chainHash(prevHash, hashedContent(loggedAt, row.rules_version as string, entryOfRow(row))) });
    return loggedAt;
  }

  it('a checkpoint line rewritten to match a recomputed chain: its signature fails', async () => {
    const log = await freshLog();
    await asSuperuser(async (trx) => {
      await trx.withSchema(log.schema).table('conflicts').where({ id: log.ids[5] }).update({ kept_value: JSON.stringify('7.00') });
      await recomputeFrom(trx, log.schema, 5);
      await trx.withSchema(log.schema).table('audit_checkpoints').delete();
    });
    const newHash = (await rows(log.schema))[6]!.hash as string;
    const lines = readFileSync(log.checkpoints, 'utf8').trim().split('\n');
    lines[3] = JSON.stringify({ ...JSON.parse(lines[3]!), hash: newHash });
    writeFileSync(log.checkpoints, `${lines.join('\n')}\n`);
    const r = await log.verify(log.withFile);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`checkpoint file ${log.checkpoints}, line 4 (row #${log.ids[6]}): its signature does not verify`);
  });

  it('usage: --checkpoints needs a public key; a malformed --expect-head is refused (exit 2)', async () => {
    const log = await freshLog();
    expect((await log.verify({ checkpoints: log.checkpoints })).code).toBe(2);
    const bad = await log.verify({ expectHead: 'abc' });
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--expect-head takes <seq>:<hash>/);
  });
});

function entryOfRow(row: Record<string, unknown>): ConflictEntry {
  const value = (v: unknown) => (v === null ? undefined : (v as ConflictEntry['attempted']));
  return {
    entity: row.entity as string, key: row.key as string, field: row.field as string, system: row.system as string,
    table: row.source_table as string, position: row.position as string, txId: (row.tx_id as string | null) ?? null,
    commitTimeMs: new Date(row.commit_time as string).getTime(), correlationId: row.correlation_id as string,
    attempted: (row.attempted ?? null) as ConflictEntry['attempted'], before: value(row.before_value), current: value(row.current_value),
    kept: value(row.kept_value), rule: row.rule as string, outcome: row.decision as ConflictEntry['outcome'],
    patch: row.patch as ConflictEntry['patch'], corrected: row.corrected as boolean,
  };
}
