/**
 * The `tandem` binary as a user meets it, no servers needed: help, usage
 * errors, configuration errors (exit 2, naming file, path, line and what was
 * expected) and an unreachable database (exit 1).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTandem } from '../e2e/child';
import { freshNames, twoWayConfig } from '../e2e/harness';

const dir = mkdtempSync(join(tmpdir(), 'tandem-cli-'));
const GOOD = twoWayConfig({ names: freshNames('cli') });
/** Nothing listens on port 1: connections are refused at once. */
const UNREACHABLE = 'postgresql://tandem:s3cr3t-pw@127.0.0.1:1/nowhere';
const ENV = { E2E_STATE_URL: UNREACHABLE, E2E_ERP_URL: UNREACHABLE, E2E_CRM_URL: UNREACHABLE, E2E_REDIS_URL: 'redis://127.0.0.1:1' };

function configFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The 1-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string, from = 0): number {
  const lines = text.split('\n');
  const i = lines.findIndex((l, n) => n >= from && l.includes(needle));
  if (i < 0) throw new Error(`"${needle}" not in the config`);
  return i + 1;
}

/** Replaces the `nth` (0-based) occurrence of `from`. */
function replaceNth(text: string, from: string, to: string, nth = 0): string {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = text.indexOf(from, at + 1);
    if (at < 0) throw new Error(`"${from}" occurs fewer than ${nth + 1} times`);
  }
  return text.slice(0, at) + to + text.slice(at + from.length);
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tandem --help', () => {
  it('tandem --help lists the commands and exits 0', async () => {
    const r = await runTandem(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: tandem/);
    for (const command of ['run', 'demo', 'status']) expect(r.stdout).toContain(command);
  });

  it('tandem run --help names --config and exits 0', async () => {
    const r = await runTandem(['run', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: tandem run/);
    expect(r.stdout).toContain('--config <file>');
  });

  it('tandem demo --help names --seconds and --keep and exits 0', async () => {
    const r = await runTandem(['demo', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: tandem demo/);
    expect(r.stdout).toContain('--seconds <n>');
    expect(r.stdout).toContain('--keep');
  });

  it('tandem status --help names --config and exits 0', async () => {
    const r = await runTandem(['status', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--config <file>');
  });
});

describe('usage errors exit 2', () => {
  it('tandem run without --config', async () => {
    const r = await runTandem(['run'], ENV);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--config/);
  });

  it('an unknown command', async () => {
    const r = await runTandem(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command/i);
  });

  it('tandem demo --seconds with something that is not a number', async () => {
    const r = await runTandem(['demo', '--seconds', 'soon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/positive whole number/);
  });

  it('a configuration file that does not exist', async () => {
    const file = join(dir, 'missing.yaml');
    const r = await runTandem(['run', '--config', file], ENV);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
  });
});

describe('configuration errors exit 2, naming the file, the path, the line and what was expected', () => {
  it('a YAML syntax error', async () => {
    const text = replaceNth(GOOD, '  applyPollMs: 20', '  applyPollMs: [20');
    const file = configFile('syntax.yaml', text);
    const r = await runTandem(['run', '--config', file], ENV);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/YAML/);
    expect(r.stderr).toMatch(/line \d+/);
    const reported = Number(/line (\d+)/.exec(r.stderr)![1]);
    // The parser notices the unclosed flow sequence at or just after it.
    expect(reported).toBeGreaterThanOrEqual(lineOf(text, 'applyPollMs: [20'));
    expect(reported).toBeLessThanOrEqual(lineOf(text, 'applyPollMs: [20') + 3);
  });

  it('a setting of the wrong type', async () => {
    const text = replaceNth(GOOD, 'applyPollMs: 20', 'applyPollMs: fast');
    const file = configFile('type.yaml', text);
    const r = await runTandem(['run', '--config', file], ENV);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('pipeline.applyPollMs');
    expect(r.stderr).toContain(`line ${lineOf(text, 'applyPollMs: fast')}`);
    expect(r.stderr).toMatch(/expected number/i);
  });

  it('an unknown system in a mapping', async () => {
    const text = replaceNth(GOOD, '  - system: crm', '  - system: crmx');
    const file = configFile('system.yaml', text);
    const r = await runTandem(['run', '--config', file], ENV);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('mappings[1].system');
    expect(r.stderr).toContain(`line ${lineOf(text, 'system: crmx')}`);
    expect(r.stderr).toMatch(/unknown system "crmx"/);
    expect(r.stderr).toMatch(/erp, crm/);
  });

  it('an unknown converter', async () => {
    const text = replaceNth(GOOD, 'convert: [trim]', 'convert: [trim, titlecase]');
    const file = configFile('converter.yaml', text);
    const r = await runTandem(['run', '--config', file], ENV);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('mappings[0].fields.name');
    expect(r.stderr).toContain(`line ${lineOf(text, 'titlecase')}`);
    // What is accepted, not just "invalid".
    expect(r.stderr).toMatch(/trim/);
    expect(r.stderr).toMatch(/upper|lower|empty-to-null|decimal/);
  });

  it('a secret whose environment variable is unset: exit 2 even though the state store (read first) is unreachable', async () => {
    const file = configFile('secret.yaml', GOOD);
    const r = await runTandem(['run', '--config', file], { ...ENV, E2E_ERP_URL: '' });
    // A missing secret is a configuration error, found before anything is connected to.
    expect(r.stderr).toContain('E2E_ERP_URL');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('systems.erp.url');
    expect(r.stderr).toContain(`line ${lineOf(GOOD, 'url: { env: E2E_ERP_URL }')}`);
  });
});

describe('tandem rules check errors stop tandem run', () => {
  it('a field owned by a system that does not map it: exit 2 with the rules check\u2019s lines, before anything is connected to', async () => {
    // The CRM maps no credit limit, so owning it means nobody could change it.
    const text = replaceNth(GOOD, '      credit_limit: { column: credit_limit, convert: [{ decimal: { scale: 2 } }] }\n  - system: erp', '  - system: erp', 0)
      .replace('credit_limit: { owner: erp }', 'credit_limit: { owner: crm }');
    const file = configFile('unownable.yaml', text);
    const r = await runTandem(['run', '--config', file], ENV);
    expect(r.stderr).toMatch(/: error: entities\.customer\.fields\.credit_limit(\.owner)?: customer\.credit_limit is owned by crm, which does not map it/);
    expect(r.stderr).toMatch(/the ownership rules have 1 error \(see tandem rules check\): not starting/);
    // The databases are unreachable: had the rules passed, the preflight would have said so (exit 1).
    expect(r.stderr).not.toMatch(/ECONNREFUSED/);
    expect(r.code).toBe(2);
  });
});

describe('runtime failures exit 1', () => {
  it('an unreachable state store: exit 1 with a clear message and no password', async () => {
    const file = configFile('unreachable.yaml', GOOD);
    const r = await runTandem(['run', '--config', file], ENV, 60_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ECONNREFUSED|connect|unreachable/i);
    expect(r.stderr).toMatch(/127\.0\.0\.1:1/);
    expect(r.stderr).not.toContain('s3cr3t-pw');
  });
});
