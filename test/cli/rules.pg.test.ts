/**
 * `tandem rules simulate` over a journal written by the real resolve stage:
 * switching customer.name from latest-wins to owner=erp flips exactly the
 * CRM name edits that were accepted, and nothing else; the replay reads the
 * state store and writes nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferIo } from '../../src/cli/io';
import type { SimulationReport } from '../../src/cli/rules/replay';
import { runRulesSimulate, type SimulateOptions } from '../../src/cli/rules/simulate';
import { connectStateStore, migrateStateStore, pruneJournal } from '../../src/store';
import { createPgDatabase, requireEnv, TEST_ENV, type TestDatabase } from '../support';
import { configText, fillStateStore, history, loadText, SCHEMA, T0 } from './review-fixture';

describe('tandem rules simulate against PostgreSQL', () => {
  requireEnv(TEST_ENV.pg);
  let db: TestDatabase;
  let knex: Knex;
  let dir: string;
  let config: string;
  let ownerErp: string;

  beforeAll(async () => {
    db = await createPgDatabase('cli_rules');
    process.env.CLI_STATE_URL = db.url;
    dir = mkdtempSync(join(tmpdir(), 'tandem-simulate-'));
    config = join(dir, 'tandem.yaml');
    writeFileSync(config, configText());
    ownerErp = join(dir, 'owner-erp.yaml');
    writeFileSync(ownerErp, configText('{ owner: erp }'));
    knex = connectStateStore(db.url, 2);
    await migrateStateStore(knex, SCHEMA);
    await fillStateStore(knex, loadText(configText(), config));
  });
  afterAll(async () => {
    await knex?.destroy();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function simulate(options: Omit<SimulateOptions, 'config'>) {
    const io = bufferIo();
    const code = await runRulesSimulate({ config, ...options }, io);
    return { code, out: io.stdout(), err: io.stderr() };
  }

  const counts = async () => Object.fromEntries(await Promise.all(['records', 'conflicts', 'outbox', 'journal', 'crosswalk'].map(async (t) => {
    const [row] = await knex.withSchema(SCHEMA).table(t).count('* as n');
    return [t, Number(row!.n)] as const;
  })));

  it('journals every resolved change with its canonical key, in resolution order', async () => {
    const rows: Array<{ system: string; key: string; position: string; change: { key: string; event: { after: unknown } } }> = await knex.withSchema(SCHEMA).table('journal').orderBy('id');
    expect(rows.map((r) => `${r.system}@${r.position}`)).toEqual(history().map((b) => `${b.system}@${b.position}`));
    expect(new Set(rows.map((r) => r.key))).toEqual(new Set(['erp:C1']));
    expect(rows[1]!.change.key).toBe('erp:C1');
    // The raw source rows are not kept: the resolver reads canonical values only.
    expect(rows[1]!.change.event.after).toBeNull();
  });

  it('reports exactly the CRM name edits that latest-wins accepted and owner=erp rejects', async () => {
    const before = await counts();
    const result = await simulate({ rules: ownerErp, json: true });
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.out) as SimulationReport;
    expect(report.changes).toBe(8);
    expect(report.differences).toBe(2);
    expect(report.counts).toEqual({ 'customer.name': { 'accepted → rejected': 2 } });
    const batches = history();
    expect(report.examples.map((d) => ({ system: d.system, position: d.position, attempted: d.attempted, current: d.current, proposed: d.proposed }))).toEqual([
      { system: 'crm', position: batches[4]!.position, attempted: 'Acme Inc', current: { outcome: 'accepted', kept: 'Acme Inc' }, proposed: { outcome: 'rejected', kept: 'Acme' } },
      { system: 'crm', position: batches[7]!.position, attempted: 'Acme Corporation', current: { outcome: 'accepted', kept: 'Acme Corporation' }, proposed: { outcome: 'rejected', kept: 'Acme Corp' } },
    ]);
    expect(await counts()).toEqual(before);
  });

  it('prints a readable report', async () => {
    const result = await simulate({ rules: ownerErp });
    expect(result.out).toContain('replayed 8 journalled changes');
    expect(result.out).toMatch(/customer\.name\s+2\s+accepted → rejected: 2/);
    expect(result.out).toContain('customer erp:C1 name: crm at');
    expect(result.out).toContain('current: accepted (customer.name latest-wins), kept "Acme Inc"; proposed: rejected (customer.name owner=erp), kept "Acme"');
  });

  it('reports nothing for the same rules, and limits reports (not the replay) with --since', async () => {
    expect((await simulate({ rules: config })).out).toContain('no decision differs');
    const since = await simulate({ rules: ownerErp, json: true, since: new Date(T0 + 5_000).toISOString() });
    const report = JSON.parse(since.out) as SimulationReport;
    expect(report.changes).toBe(8);
    expect(report.differences).toBe(1);
    expect(report.examples[0]).toMatchObject({ attempted: 'Acme Corporation', proposed: { outcome: 'rejected', kept: 'Acme Corp' } });
  });

  it('refuses proposed rules over different mappings', async () => {
    const other = join(dir, 'other.yaml');
    writeFileSync(other, configText().replace('      segment: segment\n  - system: crm', '  - system: crm').replace('      segment: { policy: manual }\n', ''));
    const result = await simulate({ rules: other });
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/proposed mappings differ/);
  });

  describe('a planned cutover', () => {
    // credit_limit moves from erp to crm at wave1; the CRM raised it to 999.00 at T0+2s (rejected under erp).
    const cutoverText = (at: string) => configText()
      .replace('      credit_limit: { owner: erp }\n', '      credit_limit:\n        owner:\n          - { system: erp }\n          - { system: crm, from: wave1 }\n')
      .replace('entities:\n', `cutovers:\n  wave1: { at: "${at}" }\nentities:\n`);
    let planned: string;
    beforeAll(() => {
      planned = join(dir, 'cutover.yaml');
      writeFileSync(planned, cutoverText('2030-01-01T00:00:00Z'));
    });

    it('after the whole journal flips nothing', async () => {
      const result = await simulate({ rules: planned, json: true });
      expect(result.code).toBe(0);
      expect((JSON.parse(result.out) as SimulationReport).differences).toBe(0);
    });

    it('moved into the journal (--cutover) flips exactly the changes committed after it, under the new rule version', async () => {
      const at = new Date(T0 + 1_500).toISOString();
      const result = await simulate({ rules: planned, cutover: [`wave1=${at}`], json: true });
      expect(result.err).toBe('');
      const report = JSON.parse(result.out) as SimulationReport & { cutovers: Record<string, unknown> };
      expect(report.cutovers).toEqual({ wave1: [null, at] });
      expect(report.counts).toEqual({ 'customer.credit_limit': { 'rejected → accepted': 1 } });
      expect(report.examples.map((d) => [d.system, d.attempted, d.current, d.proposed, d.currentRule, d.proposedRule])).toEqual([
        ['crm', '999.00', { outcome: 'rejected', kept: '100.00' }, { outcome: 'accepted', kept: '999.00' }, 'customer.credit_limit owner=erp', 'customer.credit_limit@wave1'],
      ]);
      // One second later the CRM edit falls before the cutover and nothing flips.
      const later = await simulate({ rules: planned, cutover: [`wave1=${new Date(T0 + 2_001).toISOString()}`], json: true });
      expect((JSON.parse(later.out) as SimulationReport).differences).toBe(0);
      const text = await simulate({ rules: planned, cutover: [`wave1=${at}`] });
      expect(text.out).toContain(`cutover wave1: none → ${at}`);
      expect(text.out).toContain('proposed: accepted (customer.credit_limit@wave1), kept "999.00"');
    });

    it('refuses a cutover the rules do not have, and a missing proposal', async () => {
      const unknown = await simulate({ rules: planned, cutover: ['wave2=2025-03-01T12:00:00Z'] });
      expect(unknown.code).toBe(2);
      expect(unknown.err).toMatch(/--cutover wave2: no such cutover \(cutovers: wave1\)/);
      const none = await simulate({});
      expect(none.code).toBe(2);
      expect(none.err).toMatch(/--rules <file>\) and\/or planned cutover times/);
    });
  });

  it('prunes journal entries older than the retention', async () => {
    await knex.withSchema(SCHEMA).table('journal').where('id', '<=', 3).update({ recorded_at: new Date(Date.now() - 200 * 3_600_000) });
    expect(await pruneJournal(knex, SCHEMA, 168 * 3_600_000)).toBe(3);
    const [row] = await knex.withSchema(SCHEMA).table('journal').count('* as n');
    expect(Number(row!.n)).toBe(5);
  });
});
