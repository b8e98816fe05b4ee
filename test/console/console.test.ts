import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assess, escapeHtml, explainConflict, Guard, html, type Sample } from '../../src/console';
import { positionText } from '../../src/console/layout';
import { jsonBlock } from '../../src/console/html';
import { parseConfig } from '../../src/config';
import { ConfigError } from '../../src/errors';
import type { ConflictRow } from '../../src/store';

const unescape = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

describe('console html', () => {
  it('every interpolated value is text: no markup of its own survives, and it reads back unchanged', () => {
    // Strings drawn from the characters that matter, mixed with any others.
    const risky = fc.string({ unit: fc.oneof(fc.constantFrom('<', '>', '"', "'", '&', '&amp;', '</td>', '">'), fc.string({ unit: 'grapheme', maxLength: 3 })), maxLength: 30 });
    fc.assert(fc.property(risky, (value) => {
      const out = html`<td title="${value}">${value}</td>`.text;
      const inner = out.slice('<td title="'.length, -'</td>'.length);
      const parts = inner.split('">');
      return parts.length === 2 && !/[<>"']/.test(parts[0]!) && !/[<>"']/.test(parts[1]!) && unescape(parts[1]!) === value && unescape(parts[0]!) === value;
    }), { numRuns: 300 });
  });

  it('nested templates and lists are not escaped twice; raw data in lists is', () => {
    expect(html`<ul>${['<a>', html`<li>${'&'}</li>`]}</ul>`.text).toBe('<ul>&lt;a&gt;<li>&amp;</li></ul>');
    expect(escapeHtml(`<script>alert("x")</script>`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
  });

  it('a JSON block cannot be closed early by its data', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 2 }), fc.string(), (value, s) => {
      const block = jsonBlock('x', { value, s: `${s}</script><script>` }).text;
      expect(block.match(/<\/script>/g)).toHaveLength(1);
      expect(JSON.parse(block.slice(block.indexOf('>') + 1, -'</script>'.length))).toEqual(JSON.parse(JSON.stringify({ value, s: `${s}</script><script>` })));
    }));
  });

  it('positions: a PostgreSQL source position as the LSN pg prints, others as stored', () => {
    expect(positionText('00000000575CB8E0:00000000')).toBe('0/575CB8E0');
    expect(positionText('000000010000002A:0000000F')).toBe('1/2A');
    expect(positionText('mysql-bin.000003:1234')).toBe('mysql-bin.000003:1234');
    const sqlserver = '0000002700000A480003:0000002700000A480002:00000001';
    expect(positionText(sqlserver)).toBe(sqlserver);
    expect(positionText(undefined)).toBe('-');
  });
});

const sample = (at: number, finished: number, depth: number): Sample => ({
  at, lagSeconds: {}, outboxDepth: depth,
  events: { captured: 0, mapped: 0, resolved: 0, skipped: 0, deadLettered: 0 },
  tasks: { applied: finished, superseded: 0, waiting: 0, failed: 0, deadLettered: 0 },
});

describe('console assessment (the overview banner)', () => {
  const now = 1_000_000_000;
  const base = { now, components: [], lagSeconds: { erp: 0.4 }, storeProblem: null, pending: 0, history: [], stallAfterSeconds: 60 };

  it('flowing when nothing is wrong', () => {
    expect(assess(base)).toMatchObject({ state: 'ok', reasons: [] });
  });

  it('stalled when pending work made no progress for stallAfter, naming where it waits', () => {
    const history = [sample(now - 90_000, 5, 3), sample(now - 70_000, 7, 3), sample(now - 68_000, 7, 3), sample(now, 7, 3)];
    const verdict = assess({ ...base, pending: 3, pendingWhere: 'erp: 3 in flight', history });
    expect(verdict.state).toBe('stalled');
    expect(verdict.reasons).toEqual(['3 tasks pending and none finished for 70 s (erp: 3 in flight): look at that target for locks, a full disk or a hung connection']);
  });

  it('not stalled while tasks keep finishing, nor when idle', () => {
    const busy = [sample(now - 90_000, 5, 3), sample(now - 10_000, 6, 3), sample(now, 7, 3)];
    expect(assess({ ...base, pending: 3, history: busy }).state).toBe('ok');
    const idle = [sample(now - 90_000, 7, 0), sample(now, 7, 0)];
    expect(assess({ ...base, pending: 0, history: idle }).state).toBe('ok');
  });

  it('a lagging source, a silent state store and a failed component, worst first in the state', () => {
    const verdict = assess({
      ...base, lagSeconds: { erp: 75 }, storeProblem: 'state store: no answer within 2 s',
      components: [{ component: 'source:crm', state: 'failed', reason: 'binary log off', sinceMs: now - 5000 }, { component: 'redis', state: 'degraded', reason: 'unreachable', sinceMs: now - 1000 }],
    });
    expect(verdict.state).toBe('failed');
    expect(verdict.reasons[0]).toMatch(/^source:crm FAILED since .* 5 s ago: binary log off$/);
    expect(verdict.reasons.some((r) => r.startsWith('state store not answering (state store: no answer within 2 s)'))).toBe(true);
    expect(verdict.reasons.some((r) => r.startsWith('source erp: lag 75 s'))).toBe(true);
    expect(verdict.reasons.at(-1)).toMatch(/^redis degraded/);
  });
});

describe('console conflict explanation', () => {
  const row = (over: Partial<ConflictRow>): ConflictRow => ({
    id: '7', loggedAt: new Date('2026-12-01T10:00:01Z'), correlationId: 'c', entity: 'customer', key: 'erp:K1', field: 'name', system: 'crm', table: 'accounts',
    position: 'p', txId: null, commitTime: new Date('2026-12-01T10:00:00.500Z'), attempted: 'B', before: 'O', current: 'A', kept: 'B',
    rule: 'customer.name latest-wins', rulesVersion: 'v', ruleVersion: null, decision: 'accepted', corrected: false, patch: [], prevHash: 'x', hash: 'y', ...over,
  });
  const other = { system: 'erp', commitTime: new Date('2026-12-01T10:00:00.300Z'), position: 'q' };

  it('latest commit: both commit times and the later one', () => {
    expect(explainConflict(row({}), other, ['erp', 'crm'])).toEqual({
      winner: 'crm', thisSideWon: true,
      why: 'latest commit wins: crm committed at 2026-12-01 10:00:00.500 UTC, erp at 2026-12-01 10:00:00.300 UTC; crm is later',
    });
    expect(explainConflict(row({ decision: 'rejected', kept: 'A', commitTime: new Date('2026-12-01T10:00:00.100Z') }), other, ['erp', 'crm']).winner).toBe('erp');
  });

  it('tie-break by priority, when the resolver logged a tie or the times are equal', () => {
    const tie = explainConflict(row({ decision: 'rejected', rule: 'customer.name latest-wins (tie within 1000 ms precision → priority)' }), other, ['erp', 'crm']);
    expect(tie).toMatchObject({ winner: 'erp', thisSideWon: false });
    expect(tie.why).toBe('tie-break by priority [erp, crm]: the commit times lie within 1000 ms of each other (the coarser source\'s precision), so erp comes first');
  });

  it('owner and workflow transition', () => {
    expect(explainConflict(row({ decision: 'rejected', rule: 'customer.credit_limit owner=erp', field: 'credit_limit' }), null, []).why)
      .toBe('owner: erp owns customer.credit_limit; crm does not');
    expect(explainConflict(row({ decision: 'rejected', rule: 'sales_order.status owner=erp workflow', entity: 'sales_order', field: 'status', current: 'new', attempted: 'shipped' }), null, []).why)
      .toBe('owner: erp owns sales_order.status; crm does not, and no workflow transition allows "new" → "shipped" for it');
    expect(explainConflict(row({ decision: 'accepted', rule: 'sales_order.status owner=erp workflow', entity: 'sales_order', field: 'status', current: 'released', attempted: 'shipped' }), null, []))
      .toMatchObject({ winner: 'crm', why: 'workflow transition: crm may move status from "released" to "shipped" although erp owns it' });
  });
});

function request(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

describe('console guard', () => {
  it('without a token: loopback host names only, and refuses to start beyond loopback', () => {
    const guard = new Guard(null, '127.0.0.1');
    expect(guard.refusal(request({ host: '127.0.0.1:9464' }))).toBeNull();
    expect(guard.refusal(request({ host: 'localhost:9464' }))).toBeNull();
    expect(guard.refusal(request({ host: '[::1]:9464' }))).toBeNull();
    expect(guard.refusal(request({ host: 'attacker.example:9464' }))).toMatchObject({ status: 403 });
    expect(() => new Guard(null, '0.0.0.0')).toThrow(ConfigError);
    expect(() => new Guard(null, '0.0.0.0')).toThrow(/console\.token/);
  });

  it('with a token: bearer or the login cookie, any host', () => {
    const token = 'a-long-enough-console-token';
    const guard = new Guard(token, '0.0.0.0');
    expect(guard.refusal(request({ host: 'tandem.internal:9464' }))).toMatchObject({ status: 401, login: true });
    expect(guard.refusal(request({ host: 'x', authorization: `Bearer ${token}` }))).toBeNull();
    expect(guard.refusal(request({ host: 'x', authorization: 'Bearer wrong' }))).not.toBeNull();
    expect(guard.login('wrong')).toBeNull();
    const cookie = guard.login(token)!;
    expect(cookie).toMatch(/HttpOnly; SameSite=Strict/);
    expect(cookie).not.toContain(token);
    expect(guard.refusal(request({ host: 'x', cookie: cookie.split(';')[0]! }))).toBeNull();
    expect(() => new Guard('short', '0.0.0.0')).toThrow(/at least 16/);
  });

  it('a POST needs this process\'s CSRF token and the console\'s own origin', () => {
    const guard = new Guard(null, '127.0.0.1');
    const form = (csrf: string) => new URLSearchParams({ csrf });
    const host = { host: '127.0.0.1:9464' };
    expect(guard.postRefusal(request(host), form(guard.csrfToken()))).toBeNull();
    expect(guard.postRefusal(request({ ...host, origin: 'http://127.0.0.1:9464', 'sec-fetch-site': 'same-origin' }), form(guard.csrfToken()))).toBeNull();
    expect(guard.postRefusal(request(host), form('forged'))).toMatch(/CSRF/);
    expect(guard.postRefusal(request({ ...host, origin: 'https://evil.example' }), form(guard.csrfToken()))).toMatch(/another origin/);
    expect(guard.postRefusal(request({ ...host, 'sec-fetch-site': 'cross-site' }), form(guard.csrfToken()))).toMatch(/cross-site/);
    expect(new Guard(null, '127.0.0.1').csrfToken()).not.toBe(guard.csrfToken());
  });
});

describe('console configuration', () => {
  const base = `
stateStore: { url: { env: STATE_URL } }
systems:
  erp: { type: postgres, url: { env: ERP_URL }, capture: { slot: s_erp, publication: p_erp } }
  crm: { type: postgres, url: { env: CRM_URL } }
entities:
  customer: { owner: erp }
mappings:
  - { system: erp, table: customers, entity: customer, key: { columns: [id] }, fields: { id: id, name: name } }
  - { system: crm, table: accounts, entity: customer, key: { columns: [id], generated: uuid }, fields: { name: account_name } }
pipeline: { allowNoRedis: true }
`;

  it('defaults: enabled, read-only, no token, stalled after 60 s', () => {
    expect(parseConfig(base, 'c.yaml', {}).config.console).toEqual({ enabled: true, actions: false, stallAfter: 60_000 });
  });

  it('beyond loopback the console needs a token (or to be off); the token is a secret, never literal', () => {
    expect(() => parseConfig(`${base}metrics: { host: 0.0.0.0 }\n`, 'c.yaml', {})).toThrow(/console\.token.*beyond loopback/);
    expect(parseConfig(`${base}metrics: { host: 0.0.0.0 }\nconsole: { token: { env: CONSOLE_TOKEN } }\n`, 'c.yaml', {}).config.console.token).toEqual({ env: 'CONSOLE_TOKEN' });
    expect(parseConfig(`${base}metrics: { host: 0.0.0.0 }\nconsole: { enabled: false }\n`, 'c.yaml', {}).config.console.enabled).toBe(false);
    expect(() => parseConfig(`${base}console: { token: plain-text-token-here }\n`, 'c.yaml', {})).toThrow(ConfigError);
  });
});
