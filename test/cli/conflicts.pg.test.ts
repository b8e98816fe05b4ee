/**
 * `tandem conflicts …` against a state store filled by the real resolve
 * stage: list filters, show, export (CSV and JSON agree), pending and resolve
 * (held → resolved, tasks queued, chain intact, no second resolve), and
 * verify naming the row after each kind of tampering.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConflictsExport } from '../../src/cli/conflicts/export';
import { parseCsv, EXPORT_COLUMNS } from '../../src/cli/conflicts/csv';
import { runConflictsList } from '../../src/cli/conflicts/list';
import { runConflictsPending } from '../../src/cli/conflicts/pending';
import { runConflictsResolve } from '../../src/cli/conflicts/resolve';
import { runConflictsShow } from '../../src/cli/conflicts/show';
import { runConflictsVerify } from '../../src/cli/conflicts/verify';
import { bufferIo } from '../../src/cli/io';
import { connectStateStore, getRecord, migrateStateStore } from '../../src/store';
import { createPgDatabase, requireEnv, TEST_ENV, type TestDatabase } from '../support';
import { configText, fillStateStore, loadText, SCHEMA } from './review-fixture';

async function run<O>(command: (options: O, io: ReturnType<typeof bufferIo>) => Promise<number>, options: O) {
  const io = bufferIo();
  const code = await command(options, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe('tandem conflicts against PostgreSQL', () => {
  requireEnv(TEST_ENV.pg);
  let db: TestDatabase;
  let knex: Knex;
  let dir: string;
  let config: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = await createPgDatabase('cli_conflicts');
    process.env.CLI_STATE_URL = db.url;
    dir = mkdtempSync(join(tmpdir(), 'tandem-conflicts-'));
    config = join(dir, 'tandem.yaml');
    writeFileSync(config, configText());
    knex = connectStateStore(db.url, 2);
    await migrateStateStore(knex, SCHEMA);
    await fillStateStore(knex, loadText(configText(), config));
    const rows: Array<{ id: string; field: string; decision: string; system: string }> = await knex.withSchema(SCHEMA).table('conflicts').orderBy('id');
    for (const r of rows) ids[`${r.field}:${r.decision}:${r.system}`] = String(r.id);
  });
  afterAll(async () => {
    await knex?.destroy();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('logged what the rules said', () => {
    expect(Object.keys(ids).sort()).toEqual(['credit_limit:rejected:crm', 'name:accepted:erp', 'name:rejected:crm', 'segment:held:crm']);
  });

  it('lists with filters', async () => {
    const all = await run(runConflictsList, { config });
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/^id\s+time \(UTC\)\s+entity\s+key\s+field\s+system\s+decision\s+attempted → kept\s+rule/);
    expect(all.out).toContain('"999.00" → "100.00"');
    expect(all.out).toContain('4 entries');

    const held = await run(runConflictsList, { config, decision: 'held' });
    expect(held.out).toContain('segment');
    expect(held.out).toContain('1 entry');

    const byField = await run(runConflictsList, { config, field: 'name', system: 'crm' });
    expect(byField.out).toContain('1 entry');
    expect(byField.out).toContain('"ACME" → "Acme Corp"');
    expect((await run(runConflictsList, { config, field: 'name', system: 'crm', wide: true })).out).toContain('"ACME" → "Acme Corp"');
    expect((await run(runConflictsList, { config, entity: 'customer', key: 'erp:C1' })).out).toContain('4 entries');
    expect((await run(runConflictsList, { config, key: 'erp:C2' })).out).toContain('0 entries');
    expect((await run(runConflictsList, { config, since: '1h' })).out).toContain('4 entries');
    expect((await run(runConflictsList, { config, until: '1h' })).out).toContain('0 entries');
    expect((await run(runConflictsList, { config, since: '2000-01-01T00:00:00Z', limit: 2 })).out).toMatch(/2 entries \(the newest 2/);

    const bad = await run(runConflictsList, { config, since: 'yesterday-ish' });
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/neither an ISO time/);
  });

  it('shows every column of one entry', async () => {
    const shown = await run((o: { config: string }, io) => runConflictsShow(ids['credit_limit:rejected:crm']!, o, io), { config });
    expect(shown.err).toBe('');
    expect(shown.code).toBe(0);
    for (const label of ['correlation id', 'source table', 'position', 'transaction id', 'commit time', 'attempted', 'before (writer saw)', 'kept', 'rules version', 'patch', 'previous hash', 'hash']) {
      expect(shown.out).toContain(label);
    }
    expect(shown.out).toContain('"999.00"');
    expect(shown.out).toContain('[{"op":"replace","path":"/credit_limit","value":"999.00"}]');
    expect(shown.out).toContain('customer.credit_limit owner=erp');
    expect(shown.out).not.toContain('review');
    // Which system won, on what: each side's commit and the rule's reason.
    expect(shown.out).toMatch(/won\s+erp \("100\.00" kept; crm's "999\.00" refused\)/);
    expect(shown.out).toMatch(/crm \(this change\)\s+committed 2025-03-01T12:00:02\.000Z at 0000000000000002:00000000 \(tx \d+\): "999\.00"/);
    expect(shown.out).toMatch(/erp \(current value\)\s+committed 2025-03-01T12:00:00\.000Z at 0000000000000001:00000000: "100\.00"/);
    expect(shown.out).toMatch(/why\s+owner: customer\.credit_limit is owned by erp; a change by crm is refused whatever its commit time/);

    const held = await run((o: { config: string }, io) => runConflictsShow(ids['segment:held:crm']!, o, io), { config });
    expect(held.out).toMatch(/review\s+pending/);
    expect(held.out).toMatch(/won\s+nobody yet: held for review, "retail" stays meanwhile/);
  });

  it('shows who won a name race, with both commit times and the rule\u2019s reason', async () => {
    const show = async (id: string) => (await run((o: { config: string }, io) => runConflictsShow(id, o, io), { config })).out;
    // ERP's edit at :06 met CRM's "Acme Inc" of :04, made concurrently: the later commit wins.
    const accepted = await show(ids['name:accepted:erp']!);
    expect(accepted).toMatch(/won\s+erp \("Acme Corp"\)/);
    expect(accepted).toMatch(/erp \(this change\)\s+committed 2025-03-01T12:00:06\.000Z/);
    expect(accepted).toMatch(/crm \(current value\)\s+committed 2025-03-01T12:00:04\.000Z at 0000000000000004:00000000: "Acme Inc"/);
    expect(accepted).toMatch(/why\s+latest commit: erp committed 2 s after crm/);
    // CRM's "ACME" of :05 was resolved after ERP's "Acme Corp" of :06: the ERP's later commit keeps it.
    const rejected = await show(ids['name:rejected:crm']!);
    expect(rejected).toMatch(/won\s+erp \("Acme Corp" kept; crm's "ACME" refused\)/);
    expect(rejected).toMatch(/crm \(this change\)\s+committed 2025-03-01T12:00:05\.000Z/);
    expect(rejected).toMatch(/erp \(current value\)\s+committed 2025-03-01T12:00:06\.000Z/);
    expect(rejected).toMatch(/why\s+latest commit: erp committed 1 s after crm/);
    expect((await run((o: { config: string }, io) => runConflictsShow('99999', o, io), { config })).code).toBe(2);
    expect((await run((o: { config: string }, io) => runConflictsShow('abc', o, io), { config })).code).toBe(2);
  });

  it('exports CSV and JSON that agree with each other', async () => {
    const json = await run(runConflictsExport, { config, format: 'json' });
    expect(json.code).toBe(0);
    const objects = JSON.parse(json.out) as Array<Record<string, unknown>>;
    expect(objects).toHaveLength(4);

    const out = join(dir, 'conflicts.csv');
    const csv = await run(runConflictsExport, { config, format: 'csv', out });
    expect(csv.code).toBe(0);
    expect(csv.err).toContain('exported 4 entries');
    const [header, ...rows] = parseCsv(readFileSync(out, 'utf8'));
    expect(header).toEqual([...EXPORT_COLUMNS]);
    expect(rows).toHaveLength(4);
    rows.forEach((row, i) => {
      const object = objects[i]!;
      for (const [j, column] of EXPORT_COLUMNS.entries()) {
        const value = object[column];
        // Plain values: a decimal string is its digits, no value is an empty field, structures are JSON.
        const expected = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
        expect(row[j], column).toBe(expected);
      }
    });
    const text = readFileSync(out, 'utf8');
    // What a spreadsheet shows: 999.00, not "999.00" or """999.00""".
    const attempted = EXPORT_COLUMNS.indexOf('attempted');
    expect(rows.map((r) => r[attempted])).toContain('999.00');
    expect(text).not.toContain('"""');
    expect(text).toMatch(/,999\.00,/);
    // The patch holds quotes and commas: it only survives with proper quoting.
    expect(readFileSync(out, 'utf8')).toContain('"[{""op"":""replace""');

    const filtered = JSON.parse((await run(runConflictsExport, { config, format: 'json', decision: 'rejected' })).out) as unknown[];
    expect(filtered).toHaveLength(2);
    expect((await run(runConflictsExport, { config, format: 'xml' })).code).toBe(2);
  });

  it('verifies an intact log', async () => {
    const verified = await run(runConflictsVerify, { config });
    expect(verified).toMatchObject({ code: 0, out: expect.stringContaining('4 rows checked') });
  });

  it('lists, resolves and then refuses to re-resolve a held entry', async () => {
    const heldId = ids['segment:held:crm']!;
    const pending = await run(runConflictsPending, { config });
    expect(pending.out).toContain('segment');
    expect(pending.out).toContain('1 waiting for review');

    const rejected = await run((o: { config: string; keep: string }, io) => runConflictsResolve(ids['credit_limit:rejected:crm']!, o, io), { config, keep: 'crm' });
    expect(rejected.code).toBe(2);
    expect(rejected.err).toMatch(/not held/);
    const nobody = await run((o: { config: string; keep: string }, io) => runConflictsResolve(heldId, o, io), { config, keep: 'sap' });
    expect(nobody.code).toBe(2);

    const before = await knex.withSchema(SCHEMA).table('outbox').max('id as id').first();
    const resolved = await run((o: { config: string; keep: string; by: string }, io) => runConflictsResolve(heldId, o, io), { config, keep: 'crm', by: 'auditor' });
    expect(resolved.err).toBe('');
    expect(resolved.code).toBe(0);
    expect(resolved.out).toContain('segment = "wholesale"');

    const record = await getRecord(knex, SCHEMA, 'customer', 'erp:C1');
    expect(record!.fields.segment).toBe('wholesale');
    expect(record!.provenance.segment!.system).toBe('manual');
    const tasks: Array<{ target: string; fields: Record<string, unknown>; expected: Record<string, unknown> }> = await knex.withSchema(SCHEMA).table('outbox').where('id', '>', before?.id ?? 0).orderBy('id');
    expect(tasks.map((t) => t.target).sort()).toEqual(['crm', 'erp']);
    expect(tasks.find((t) => t.target === 'erp')).toMatchObject({ fields: { segment: 'wholesale' }, expected: { segment: 'retail' } });
    expect(tasks.find((t) => t.target === 'crm')).toMatchObject({ fields: { segment: 'wholesale' }, expected: { segment: 'wholesale' } });

    const [last] = await knex.withSchema(SCHEMA).table('conflicts').orderBy('id', 'desc').limit(1);
    expect(last).toMatchObject({ decision: 'resolved', rule: `manual review of #${heldId} by auditor`, system: 'manual', field: 'segment', kept_value: 'wholesale' });
    const review = await knex.withSchema(SCHEMA).table('reviews').where({ conflict_id: heldId }).first();
    expect(review).toMatchObject({ decision: 'kept', system: 'crm', value: 'wholesale', resolved_by: 'auditor', resolution_conflict_id: last.id });

    expect((await run(runConflictsVerify, { config })).out).toContain('5 rows checked');
    expect((await run(runConflictsPending, { config })).out).toContain('no entries waiting');
    const shown = await run((o: { config: string }, io) => runConflictsShow(heldId, o, io), { config });
    expect(shown.out).toMatch(new RegExp(`resolved by auditor at .*kept crm's value "wholesale" \\(logged as #${last.id}\\)`));

    const again = await run((o: { config: string; value: string }, io) => runConflictsResolve(heldId, o, io), { config, value: '"retail"' });
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already resolved by auditor/);
  });

  describe('verify after tampering (trigger disabled)', () => {
    async function tamper(sql: string) {
      await knex.transaction(async (trx) => {
        await trx.raw(`ALTER TABLE ${SCHEMA}.conflicts DISABLE TRIGGER conflicts_append_only`);
        await trx.raw(sql);
        await trx.raw(`ALTER TABLE ${SCHEMA}.conflicts ENABLE TRIGGER conflicts_append_only`);
      });
    }
    const rowIds = async () => ((await knex.withSchema(SCHEMA).table('conflicts').orderBy('id').select('id')) as Array<{ id: string }>).map((r) => String(r.id));

    it('names an altered row, and passes again once it is restored', async () => {
      const [, second] = await rowIds();
      const { rows: [original] } = await knex.raw(`SELECT kept_value::text AS kept FROM ${SCHEMA}.conflicts WHERE id = ?`, [second]);
      await tamper(`UPDATE ${SCHEMA}.conflicts SET kept_value = '"1.00"' WHERE id = ${second}`);
      const verdict = await run(runConflictsVerify, { config });
      expect(verdict.code).toBe(1);
      expect(verdict.out).toContain(`row #${second}: its content does not match its hash (the row was altered)`);
      await tamper(`UPDATE ${SCHEMA}.conflicts SET kept_value = '${original.kept}' WHERE id = ${second}`);
      expect((await run(runConflictsVerify, { config })).code).toBe(0);
    });

    it('names a row inserted out of place', async () => {
      const ids = await rowIds();
      const next = String(Number(ids.at(-1)) + 1);
      // A copy of the last row with a forged value, linked to it and hashed as tandem would, but without moving the head.
      await tamper(`INSERT INTO ${SCHEMA}.conflicts SELECT ${next}, logged_at, correlation_id, entity, key, field, system, source_table, position, tx_id, commit_time,
        attempted, before_value, current_value, '"5000.00"', rule, rules_version, decision, corrected, patch, hash, md5(hash) FROM ${SCHEMA}.conflicts WHERE id = ${ids.at(-1)}`);
      const verdict = await run(runConflictsVerify, { config });
      expect(verdict.code).toBe(1);
      expect(verdict.out).toContain(`row #${next}:`);
      await tamper(`DELETE FROM ${SCHEMA}.conflicts WHERE id = ${next}`);
      expect((await run(runConflictsVerify, { config })).code).toBe(0);
    });

    it('names the row after a deleted one', async () => {
      const ids = await rowIds();
      // The third row: the second is the held entry, which its review still references.
      await tamper(`DELETE FROM ${SCHEMA}.conflicts WHERE id = ${ids[2]}`);
      const verdict = await run(runConflictsVerify, { config });
      expect(verdict.code).toBe(1);
      expect(verdict.out).toContain(`row #${ids[3]}: its link to the previous row is broken`);
    });
  });
});
