/**
 * The pieces of a shell-friendly CLI that need no server: values shortened so
 * both sides of a race stay distinguishable, CSV with plain values, the words
 * `conflicts show` uses for who won and why, the demo's export lines, the
 * connection-error text, --version, TANDEM_CONFIG and a closed pipe.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvLine, EXPORT_COLUMNS, parseCsv, plainValue } from '../../src/cli/conflicts/csv';
import { shortPair } from '../../src/cli/conflicts/filters';
import { endQuietlyOnBrokenPipe, keepRunningOnBrokenPipe } from '../../src/cli/io';
import { address, connectionError, type Endpoint } from '../../src/cli/reach';
import { explainDecision, ruleKind, type LoggedDecision } from '../../src/conflict';
import { exportLines, shellQuote } from '../../src/demo/shell-env';
import type { ConflictRow } from '../../src/store';
import { runTandem } from '../e2e/child';

describe('values shortened for the conflict table', () => {
  it('a name race whose values share a long beginning: both sides still differ on screen', () => {
    const [a, b] = shortPair('Northwind Trading Company of Greater Manchester Ltd', 'Northwind Trading Company of Greater Manchester Limited');
    expect(a).not.toBe(b);
    expect(a.length).toBeLessThanOrEqual(32);
    expect(b.length).toBeLessThanOrEqual(32);
    expect(a).toContain('Ltd');
    expect(b).toContain('Limited');
  });

  it('values differing early keep head and tail', () => {
    const [a, b] = shortPair('Acme Distribution GmbH & Co. KG, Hamburg branch', 'ACME Distribution GmbH & Co. KG, Hamburg branch');
    expect(a).toBe('"Acme Distributi…Hamburg branch"');
    expect(b).toBe('"ACME Distributi…Hamburg branch"');
  });

  it('short values are left whole', () => {
    expect(shortPair('224300.00', '8963.00')).toEqual(['"224300.00"', '"8963.00"']);
    expect(shortPair(null, undefined)).toEqual(['null', '-']);
  });

  it('any two different texts stay different and within the width', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), fc.string({ maxLength: 80 }), fc.integer({ min: 12, max: 40 }), (x, y, max) => {
      const [a, b] = shortPair(x, y, max);
      expect(a.length).toBeLessThanOrEqual(max);
      expect(b.length).toBeLessThanOrEqual(max);
      if (x !== y) expect(a).not.toBe(b);
      else expect(a).toBe(b);
    }), { numRuns: 500 });
  });
});

const row: ConflictRow = {
  id: '7', loggedAt: new Date('2025-03-01T12:00:03Z'), correlationId: 'crm@1', entity: 'customer', key: 'erp:C1', field: 'credit_limit',
  system: 'crm', table: 'public.accounts', position: '0000000000000002:00000000', txId: '42', commitTime: new Date('2025-03-01T12:00:02Z'),
  attempted: '224300.00', before: '8963.00', current: '8963.00', kept: '8963.00', rule: 'customer.credit_limit owner=erp', ruleVersion: null, rulesVersion: 'v1',
  decision: 'rejected', corrected: true, patch: [{ op: 'replace', path: '/credit_limit', value: '224300.00' }], prevHash: 'genesis', hash: 'h',
};

describe('CSV export', () => {
  it('holds plain values a spreadsheet shows as they are', () => {
    const [fields] = parseCsv(csvLine(row));
    const at = (column: (typeof EXPORT_COLUMNS)[number]) => fields![EXPORT_COLUMNS.indexOf(column)];
    expect(at('attempted')).toBe('224300.00');
    expect(at('kept')).toBe('8963.00');
    expect(at('commitTime')).toBe('2025-03-01T12:00:02.000Z');
    expect(at('patch')).toBe('[{"op":"replace","path":"/credit_limit","value":"224300.00"}]');
    expect(csvLine(row)).toContain(',224300.00,8963.00,8963.00,8963.00,');
    expect(csvLine(row)).not.toContain('"""');
  });

  it('plain values: text as it is, numbers and booleans as written, no value empty, structures as JSON', () => {
    expect(plainValue('ACME, "the" Ltd')).toBe('ACME, "the" Ltd');
    expect(plainValue(1500)).toBe('1500');
    expect(plainValue(true)).toBe('true');
    expect(plainValue(null)).toBe('');
    expect(plainValue(undefined)).toBe('');
    expect(plainValue({ a: [1] })).toBe('{"a":[1]}');
  });

  it('any text value survives the round trip through RFC 4180 quoting', () => {
    fc.assert(fc.property(fc.string(), fc.string(), (attempted, rule) => {
      const [fields] = parseCsv(csvLine({ ...row, attempted, rule }));
      expect(fields![EXPORT_COLUMNS.indexOf('attempted')]).toBe(attempted);
      expect(fields![EXPORT_COLUMNS.indexOf('rule')]).toBe(rule);
      expect(fields).toHaveLength(EXPORT_COLUMNS.length);
    }), { numRuns: 300 });
  });
});

describe('who won, on what', () => {
  const race: LoggedDecision = {
    system: 'crm', field: 'name', entity: 'customer', commitTime: new Date('2025-03-01T12:00:05.000Z'), position: 'P5', txId: null,
    attempted: 'ACME', current: 'Acme Corp', kept: 'Acme Corp', rule: 'customer.name latest-wins', decision: 'rejected',
  };
  const erp = { system: 'erp', commitTime: new Date('2025-03-01T12:00:06.250Z'), position: 'P6' };

  it('reads the rule text', () => {
    expect(ruleKind('customer.name latest-wins')).toBe('latest-wins');
    expect(ruleKind('customer.name latest-wins (tie within 1000 ms precision → priority)')).toBe('tie');
    expect(ruleKind('customer.credit_limit owner=erp')).toBe('owner');
    expect(ruleKind('customer.phone owner=erp (entity default)')).toBe('owner');
    expect(ruleKind('sales_order.status owner=erp workflow')).toBe('workflow');
    expect(ruleKind('customer owner=erp (existence)')).toBe('existence');
    expect(ruleKind('customer.segment manual')).toBe('manual');
    expect(ruleKind('customer.name (groups.identity) max')).toBe('max');
    expect(ruleKind('manual review of #3 by anna')).toBe('other');
  });

  it('a lost race: the winner, both commits, the gap', () => {
    const why = explainDecision(race, erp, ['erp', 'crm']);
    expect(why.winner).toBe('erp ("Acme Corp" kept; crm\'s "ACME" refused)');
    expect(why.sides).toEqual([
      ['crm (this change)', 'committed 2025-03-01T12:00:05.000Z at P5: "ACME"'],
      ['erp (current value)', 'committed 2025-03-01T12:00:06.250Z at P6: "Acme Corp"'],
    ]);
    expect(why.why).toBe('latest commit: erp committed 1.25 s after crm');
  });

  it('a tie broken by priority, within a coarse source precision', () => {
    const tie = { ...race, decision: 'accepted', kept: 'ACME', rule: 'customer.name latest-wins (tie within 1000 ms precision → priority)' };
    const why = explainDecision(tie, erp, ['crm', 'erp']);
    expect(why.winner).toBe('crm ("ACME")');
    expect(why.why).toBe('tie-break by priority: the commit times lie within 1000 ms, the coarser source\'s precision, so neither is known to be later; priority crm before erp gives it to crm');
  });

  it('equal millisecond commit times are a tie too', () => {
    const why = explainDecision({ ...race, commitTime: erp.commitTime }, erp, ['erp', 'crm']);
    expect(why.why).toBe('latest commit: both committed at 2025-03-01T12:00:06.250Z: a tie, decided by priority');
  });

  it('a workflow transition refused, and the side unknown once the journal is pruned', () => {
    const workflow = { ...race, field: 'status', rule: 'sales_order.status owner=erp workflow', entity: 'sales_order', attempted: 'open', current: 'shipped', kept: 'shipped' };
    const why = explainDecision(workflow, null, null);
    expect(why.why).toBe('workflow transition: sales_order.status is owned by erp, and crm may not move it from shipped to open (not among its allowed transitions)');
    expect(why.winner).toBe('the current value ("shipped" kept; crm\'s "open" refused)');
    expect(why.sides[1]![1]).toMatch(/not in the change journal/);
  });

  it('held entries: nobody has won yet', () => {
    expect(explainDecision({ ...race, decision: 'held', rule: 'customer.segment manual' }, erp, null).winner).toBe('nobody yet: held for review, "Acme Corp" stays meanwhile');
  });
});

/** Tests that start the binary several times: each start compiles the sources (tsx), slow on a busy machine. */
const SPAWNS = 180_000;

describe('tandem demo --keep, the shell lines', () => {
  const server = { urls: { erp: 'postgresql://postgres:pw@127.0.0.1:5999/erp', crm: 'postgresql://postgres:pw@127.0.0.1:5999/crm', tandem: 'postgresql://postgres:pw@127.0.0.1:5999/tandem' } };

  it('export every variable the demo configuration reads, the real metrics port and TANDEM_CONFIG', () => {
    expect(exportLines('/opt/tandem/config/demo.yaml', server, 41234)).toEqual([
      "export TANDEM_CONFIG='/opt/tandem/config/demo.yaml'",
      "export TANDEM_STATE_URL='postgresql://postgres:pw@127.0.0.1:5999/tandem'",
      "export ERP_DATABASE_URL='postgresql://postgres:pw@127.0.0.1:5999/erp'",
      "export CRM_DATABASE_URL='postgresql://postgres:pw@127.0.0.1:5999/crm'",
      "export TANDEM_METRICS_PORT='41234'",
    ]);
    // Exactly the variables config/demo.yaml names.
    const demo = readFileSync('config/demo.yaml', 'utf8');
    for (const line of exportLines('x', server, null).slice(1)) expect(demo).toContain(`env: ${/^export (\w+)=/.exec(line)![1]}`);
  });

  it('quote any value so a POSIX shell reads it back unchanged', () => {
    for (const value of ["it's", 'a b', '$HOME', '`x`', '"q"', 'back\\slash', '']) {
      expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(value)}`], { encoding: 'utf8' })).toBe(value);
    }
  });
});

describe('connection errors', () => {
  const store: Endpoint = { what: 'state store', setting: 'stateStore.url', ref: { env: 'TANDEM_STATE_URL' }, url: 'postgresql://tandem:s3cr3t@db.internal:5433/tandem' };

  it('name the system, the address, the setting and its variable; never the password', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5433'), { code: 'ECONNREFUSED' });
    expect(connectionError(store, refused).message).toBe('state store not reachable at db.internal:5433 (stateStore.url from TANDEM_STATE_URL): ECONNREFUSED');
    const auth = Object.assign(new Error('password authentication failed for user "tandem" (s3cr3t)'), { code: '28P01' });
    const message = connectionError({ ...store, ref: { file: '/run/secrets/state-url' } }, auth).message;
    expect(message).toBe('state store refused the connection at db.internal:5433 (stateStore.url from file /run/secrets/state-url): password authentication failed for user "tandem" (***)');
  });

  it('an address without credentials, with the scheme\u2019s default port', () => {
    expect(address('postgresql://u:p@host/db')).toBe('host:5432');
    expect(address('mysql://u:p@host:3307/db')).toBe('host:3307');
    expect(address('not a url')).toBe('(unparseable URL)');
  });
});

describe('the binary', () => {
  it('--version prints the package version', async () => {
    const r = await runTandem(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });

  it('TANDEM_CONFIG stands in for --config, and help says so', async () => {
    const missing = '/nonexistent/tandem.yaml';
    const r = await runTandem(['conflicts', 'list'], { TANDEM_CONFIG: missing });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(missing);
    expect((await runTandem(['status', '--help'])).stdout).toContain('(env: TANDEM_CONFIG)');
    expect((await runTandem(['status'], { TANDEM_CONFIG: '' })).stderr).toMatch(/required option '-c, --config <file>'/);
  }, SPAWNS);
});

describe('tandem run against an unreachable state store', () => {
  it('names the state store, its address, the setting and the variable; not the password', async () => {
    const url = 'postgresql://u:hidden-pw@127.0.0.1:1/x';
    const env = { TANDEM_STATE_URL: url, ERP_DATABASE_URL: url, CRM_DATABASE_URL: url };
    const r = await runTandem(['run', '--skip-check', '--config', 'config/demo.yaml'], env, 60_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('tandem: state store not reachable at 127.0.0.1:1 (stateStore.url from TANDEM_STATE_URL): ECONNREFUSED\n');
    const checked = await runTandem(['check', '--config', 'config/demo.yaml'], env, 60_000);
    expect(checked.stdout + checked.stderr).toContain('check stateStore.url (from TANDEM_STATE_URL)');
    expect(checked.stdout + checked.stderr).not.toContain('hidden-pw');
  }, SPAWNS);
});

describe('a closed pipe', () => {
  it('ends the process with exit 0 on EPIPE, and lets other stream errors through', () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    const codes: number[] = [];
    endQuietlyOnBrokenPipe([stream], (code) => codes.push(code));
    stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(codes).toEqual([0]);
    expect(() => stream.emit('error', Object.assign(new Error('disk full'), { code: 'ENOSPC' }))).toThrow('disk full');
  });

  it('the long-running commands (run, demo) go on when their log reader goes away', () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    const codes: number[] = [];
    endQuietlyOnBrokenPipe([stream], (code) => codes.push(code));
    keepRunningOnBrokenPipe();
    stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(codes).toEqual([]);
  });
});
