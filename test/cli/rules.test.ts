/**
 * `tandem rules check` and `explain` on configurations with one mistake
 * each: every finding names the file, the line and the path.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTime, toFilter } from '../../src/cli/conflicts/filters';
import { csvField, parseCsv } from '../../src/cli/conflicts/csv';
import { bufferIo } from '../../src/cli/io';
import { runRulesCheck } from '../../src/cli/rules/check';
import { runRulesExplain } from '../../src/cli/rules/explain';
import { configText } from './review-fixture';

const dir = mkdtempSync(join(tmpdir(), 'tandem-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function check(text: string) {
  const file = write(`check-${Math.random().toString(36).slice(2)}.yaml`, text);
  const io = bufferIo();
  const code = await runRulesCheck({ config: file }, io);
  return { code, out: io.stdout(), err: io.stderr(), file };
}

/** The 1-based line of the first line of `text` containing `needle`. */
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
/** A mapping's line is where its contents start: the line after its key. */
const blockLine = (text: string, key: string) => lineOf(text, key) + 1;

describe('tandem rules check', () => {
  it('passes a clean configuration, with notes for fields only the entity default covers', async () => {
    const text = configText().replace('      segment: { policy: manual }\n', '');
    const result = await check(text);
    expect(result.code).toBe(0);
    expect(result.out).toContain(`${result.file}:${blockLine(text, '  customer:')}: info: entities.customer: segment is mapped by several systems and only the entity default (owner=erp) decides it`);
    expect(result.out).toMatch(/0 errors, 0 warnings, 1 note/);
  });

  it('reports an owner that does not map the field', async () => {
    const text = configText().replace(/  - system: crm[\s\S]*?segment: segment\n/, (m) => m.replace('      email: email\n', ''));
    const result = await check(text);
    expect(result.code).toBe(2);
    expect(result.out).toContain(`${result.file}:${lineOf(text, 'email: { owner: crm }')}: error: entities.customer.fields.email.owner: customer.email is owned by crm, which does not map it`);
  });

  it('reports a field with no rule whose entity owner does not map it', async () => {
    const text = configText().replace('      segment: segment\n  - system: crm', '  - system: crm').replace('      segment: { policy: manual }\n', '');
    const result = await check(text);
    expect(result.code).toBe(2);
    expect(result.out).toContain(`${result.file}:${lineOf(text, 'owner: erp')}: error: entities.customer.owner: customer.segment has no rule and falls to the entity owner`);
  });

  it('reports transitions for a system that does not map the field, and redundant ones for the owner', async () => {
    const text = configText()
      .replace('systems:\n', 'systems:\n  wms:\n    type: postgres\n    url: { env: CLI_STATE_URL }\n')
      .replace('      segment: { policy: manual }\n', '      segment:\n        owner: erp\n        transitions:\n          wms: ["retail -> wholesale"]\n          erp: ["* -> retail"]\n');
    const result = await check(text);
    expect(result.code).toBe(2);
    expect(result.out).toContain(`${result.file}:${lineOf(text, 'wms: ["retail')}: error: entities.customer.fields.segment.transitions.wms: wms has transitions for customer.segment but does not map that field`);
    expect(result.out).toContain(`${result.file}:${lineOf(text, 'erp: ["*')}: warning: entities.customer.fields.segment.transitions.erp: erp owns customer.segment`);
  });

  it('reports overlapping rules, unreachable rules, unknown names', async () => {
    const text = configText().replace('    priority: [erp, crm]\n', '    groups:\n      contact:\n        owner: crm\n        fields: [email, fax]\n    priority: [erp, crm]\n')
      .replace('credit_limit: { owner: erp }', 'credit_limit: { owner: sap }');
    const result = await check(text);
    expect(result.code).toBe(2);
    const group = blockLine(text, '      contact:');
    expect(result.out).toContain(`${result.file}:${group}: error: entities.customer.groups.contact: field email already has a rule at entities.customer.fields.email`);
    expect(result.out).toContain(`${result.file}:${group}: error: entities.customer.groups.contact: no mapping of entity customer has a field fax`);
    expect(result.out).toContain(`${result.file}:${lineOf(text, 'owner: sap')}: error: entities.customer.fields.credit_limit.owner: unknown system "sap"`);
  });

  it('warns about correct on a shared field', async () => {
    const result = await check(configText('{ policy: latest-wins, correct: false }'));
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/warning: entities\.customer\.fields\.name\.correct: correct has no effect under latest-wins/);
  });

  it('reports a malformed file as a configuration error with its line', async () => {
    const result = await check(configText().replace('policy: manual', 'policy: sometimes'));
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/entities\.customer\.fields\.segment\.policy \(line \d+\).*expected one of/);
  });
});

describe('tandem rules explain', () => {
  const text = configText().replace('      segment: { policy: manual }\n', '      segment: { policy: manual }\n    groups:\n      money:\n        owner: erp\n        correct: false\n        fields: [limit_note]\n');
  const file = write('explain.yaml', configText());
  const explain = async (target: string, config = file) => {
    const io = bufferIo();
    const code = await runRulesExplain(target, { config }, io);
    return { code, out: io.stdout(), err: io.stderr() };
  };

  it('explains a direct rule', async () => {
    const result = await explain('customer.name');
    expect(result.code).toBe(0);
    expect(result.out).toContain(`decided by   direct rule entities.customer.fields.name (line ${lineOf(configText(), 'name: { policy')})`);
    expect(result.out).toContain('latest-wins: concurrent edits are won by the later commit (ties: erp before crm)');
    expect(result.out).toContain('mapped by    erp (public.customers.name), crm (public.accounts.account_name)');
  });

  it('explains the entity default and manual review', async () => {
    const byDefault = configText().replace('      credit_limit: { owner: erp }\n', '');
    const result = await explain('customer.credit_limit', write('default.yaml', byDefault));
    expect(result.out).toContain(`entity default entities.customer.owner (line ${lineOf(byDefault, 'owner: erp')})`);
    expect(result.out).toContain('corrections  on:');
    expect((await explain('customer.segment')).out).toContain('manual: every change to a set value is held for review');
  });

  it('explains a group rule with transitions', async () => {
    const withGroup = text.replace('fields: [limit_note]', 'fields: [credit_limit]').replace('      credit_limit: { owner: erp }\n', '')
      .replace('        correct: false\n', '        correct: false\n        transitions:\n          crm: ["100.00 -> 200.00"]\n');
    const result = await explain('customer.credit_limit', write('group.yaml', withGroup));
    expect(result.code).toBe(0);
    expect(result.out).toContain(`group entities.customer.groups.money (line ${blockLine(withGroup, 'money:')})`);
    expect(result.out).toContain('transitions crm  100.00 -> 200.00');
    expect(result.out).toContain('corrections      off');
  });

  it('refuses unknown entities and fields with exit 2', async () => {
    expect((await explain('vendor.name')).code).toBe(2);
    expect((await explain('customer.fax')).code).toBe(2);
    expect((await explain('customer')).code).toBe(2);
  });
});

describe('conflict command helpers', () => {
  it('reads ISO times and spans back from now', () => {
    const now = new Date('2025-03-01T12:00:00Z');
    expect(parseTime('2h', now).toISOString()).toBe('2025-03-01T10:00:00.000Z');
    expect(parseTime('7d', now).toISOString()).toBe('2025-02-22T12:00:00.000Z');
    expect(parseTime('2025-01-01T00:00:00Z', now).toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(() => parseTime('soon', now)).toThrow(/neither/);
    expect(() => toFilter({ decision: 'ignored' })).toThrow(/--decision/);
  });

  it('quotes CSV fields that need it and reads them back', () => {
    const fields = ['plain', 'a,b', 'say "hi"', 'two\nlines', ''];
    const line = fields.map(csvField).join(',') + '\r\n';
    expect(line).toBe('plain,"a,b","say ""hi""","two\nlines",\r\n');
    expect(parseCsv(line)).toEqual([fields]);
  });
});
