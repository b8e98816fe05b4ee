/**
 * A small HTTP server that behaves like a SaaS API: the cloud ERP of
 * `tandem demo --scenario migration`, and the API the REST target's tests
 * write to (test/support re-exports it):
 *
 * - collections at `/<name>`: POST creates (`201 {id, …}`), `GET /<name>` lists
 *   (`{items: [{id, …}]}`), `GET|PATCH|PUT|DELETE /<name>/<id>`;
 *   every resource has a version, sent as `ETag: "<n>"`; a PATCH/PUT with a stale
 *   `If-Match` gets 412;
 * - order-like bodies with a `lines` array: lines are upserted by `line_no`;
 *   a line whose `sku` is discontinued is rejected; the answer carries
 *   `results: [{index, status: 'accepted', id} | {index, status: 'rejected', reason}]`
 *   with 200 (all accepted), 207 (some rejected) or 422 (all rejected);
 * - `Idempotency-Key`: the first 2xx/400/422 answer to a key is stored and
 *   replayed for the same key (the mutation happens once);
 * - auth: none, bearer, apiKey, basic, or OAuth2 client credentials
 *   (`POST /oauth/token`, tokens expiring after `tokenTtlMs`);
 * - fault injection: `fail({status, times, retryAfter, body})`, `flaky({rate})`,
 *   `slow(ms)`, `down()`/`up()` (connections reset), `limit(perSecond)` (429);
 * - counters: requests, distinct idempotency keys, mutations per key, alerts
 *   received at `POST /alerts`, request timestamps.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type SaasAuth =
  | { kind: 'none' }
  | { kind: 'bearer'; token: string }
  | { kind: 'apiKey'; header: string; value: string }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'oauth2'; clientId: string; clientSecret: string; tokenTtlMs: number };

export interface SaasServerOptions {
  auth?: SaasAuth;
  /** SKUs whose lines are rejected. */
  discontinued?: string[];
  /** Random source for `flaky` (default Math.random). */
  random?: () => number;
}

export interface Resource {
  id: string;
  version: number;
  body: Record<string, any>;
}

interface Fault {
  status: number;
  times: number;
  retryAfter?: string;
  body?: unknown;
  /** Only requests whose method and path match. */
  match?: (method: string, path: string, body: any) => boolean;
}

interface StoredAnswer {
  status: number;
  body: unknown;
  etag?: string;
}

export interface RequestRecord {
  at: number;
  method: string;
  path: string;
  idempotencyKey: string | null;
  correlationId: string | null;
  ifMatch: string | null;
  status: number;
  body: unknown;
}

export class SaasServer {
  readonly collections = new Map<string, Map<string, Resource>>();
  readonly requests: RequestRecord[] = [];
  /** Idempotency keys seen (any request). */
  readonly keys = new Set<string>();
  /** Mutations actually carried out per idempotency key (a replayed key adds nothing). */
  readonly mutations = new Map<string, number>();
  readonly alerts: any[] = [];
  tokensIssued = 0;
  private readonly answers = new Map<string, StoredAnswer>();
  private readonly faults: Fault[] = [];
  private flakyRate = 0;
  private flakyStatuses: number[] = [500];
  private delayMs = 0;
  private isDown = false;
  private perSecond = 0;
  private readonly tokens = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private nextId = 1;
  private readonly discontinued: Set<string>;
  private readonly random: () => number;
  private server!: Server;
  url = '';

  constructor(private readonly options: SaasServerOptions = {}) {
    this.discontinued = new Set(options.discontinued ?? []);
    this.random = options.random ?? Math.random;
  }

  /** Listens on 127.0.0.1, on `port` (default 0: a free one). */
  static async start(options: SaasServerOptions = {}, port = 0): Promise<SaasServer> {
    const server = new SaasServer(options);
    await server.listen(port);
    return server;
  }

  private listen(port: number): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    return new Promise((resolve) => this.server.listen(port, '127.0.0.1', () => {
      this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
      resolve();
    }));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ── fault injection ──────────────────────────────────────────────────
  /** The next `times` API requests (matching `match`, if given) answer `status`. */
  fail(fault: { status: number; times?: number; retryAfter?: string | number; body?: unknown; match?: (method: string, path: string, body: any) => boolean }): void {
    this.faults.push({ status: fault.status, times: fault.times ?? 1, retryAfter: fault.retryAfter === undefined ? undefined : String(fault.retryAfter), body: fault.body, match: fault.match });
  }

  /** Each API request fails with probability `rate`, with one of `statuses` (429s carry Retry-After: 1). */
  flaky(rate: number, statuses: number[] = [500]): void {
    this.flakyRate = rate;
    this.flakyStatuses = statuses;
  }

  /** Answers (after carrying out the request) only after `ms`. */
  slow(ms: number): void {
    this.delayMs = ms;
  }

  /** Every connection is reset until `up()`. */
  down(): void {
    this.isDown = true;
    for (const socket of this.sockets) socket.destroy();
  }

  up(): void {
    this.isDown = false;
  }

  /** At most `perSecond` API requests in any second; beyond that 429 with Retry-After: 1. 0: no limit. */
  limit(perSecond: number): void {
    this.perSecond = perSecond;
  }

  /** An edit made in the SaaS itself: the resource's version moves on (stale If-Match → 412). */
  touch(collection: string, id: string, changes: Record<string, unknown> = {}): void {
    const resource = this.collections.get(collection)?.get(id);
    if (!resource) throw new Error(`no ${collection}/${id}`);
    Object.assign(resource.body, changes);
    resource.version += 1;
  }

  reset(): void {
    this.faults.length = 0;
    this.flakyRate = 0;
    this.delayMs = 0;
    this.isDown = false;
    this.perSecond = 0;
  }

  // ── what the server saw ──────────────────────────────────────────────
  all(collection: string): Resource[] {
    return [...(this.collections.get(collection)?.values() ?? [])];
  }

  /** API requests (not token or alert requests). */
  get apiRequests(): RequestRecord[] {
    return this.requests.filter((r) => !r.path.startsWith('/oauth/') && !r.path.startsWith('/alerts'));
  }

  /** The most API requests received within any one-second window. */
  maxPerSecond(): number {
    const times = this.apiRequests.map((r) => r.at).sort((a, b) => a - b);
    let best = 0;
    let start = 0;
    for (let end = 0; end < times.length; end++) {
      while (times[end]! - times[start]! >= 1000) start++;
      best = Math.max(best, end - start + 1);
    }
    return best;
  }

  // ── the API ──────────────────────────────────────────────────────────
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.isDown) {
      req.socket.destroy();
      return;
    }
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const header = (name: string) => (req.headers[name] as string | undefined) ?? null;
    const record: RequestRecord = {
      at: Date.now(), method, path, idempotencyKey: header('idempotency-key'), correlationId: header('x-correlation-id'),
      ifMatch: header('if-match'), status: 0, body: raw === '' ? null : safeJson(raw),
    };
    this.requests.push(record);
    const answer = await this.route(method, path, req, raw, record);
    record.status = answer.status;
    if (this.delayMs > 0 && !path.startsWith('/oauth/') && !path.startsWith('/alerts')) await sleep(this.delayMs);
    if (res.destroyed || req.socket.destroyed) return;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (answer.etag) headers['etag'] = answer.etag;
    if (answer.retryAfter) headers['retry-after'] = answer.retryAfter;
    res.writeHead(answer.status, headers);
    res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
  }

  private async route(method: string, path: string, req: IncomingMessage, raw: string, record: RequestRecord): Promise<StoredAnswer & { retryAfter?: string }> {
    if (path === '/oauth/token' && method === 'POST') return this.token(raw);
    if (path === '/alerts' && method === 'POST') {
      this.alerts.push(safeJson(raw));
      return { status: 204, body: undefined };
    }
    if (!this.authorized(req)) return { status: 401, body: { error: 'unauthorized' } };

    const key = record.idempotencyKey;
    if (key) this.keys.add(key);
    if (this.perSecond > 0) {
      const recent = this.apiRequests.filter((r) => r.at > record.at - 1000 && r !== record && r.status !== 429).length;
      if (recent >= this.perSecond) return { status: 429, body: { error: 'rate limited' }, retryAfter: '1' };
    }
    const fault = this.faults.find((f) => f.times > 0 && (!f.match || f.match(method, path, safeJson(raw))));
    if (fault) {
      fault.times -= 1;
      if (fault.times === 0) this.faults.splice(this.faults.indexOf(fault), 1);
      return { status: fault.status, body: fault.body ?? { error: `injected ${fault.status}` }, retryAfter: fault.retryAfter };
    }
    if (this.flakyRate > 0 && this.random() < this.flakyRate) {
      const status = this.flakyStatuses[Math.floor(this.random() * this.flakyStatuses.length)] ?? 500;
      return { status, body: { error: `flaky ${status}` }, retryAfter: status === 429 || status === 503 ? '1' : undefined };
    }
    if (key && method !== 'GET') {
      const stored = this.answers.get(key);
      if (stored) return stored;
    }
    const answer = this.resource(method, path, safeJson(raw), record.ifMatch);
    const mutated = method !== 'GET' && answer.status >= 200 && answer.status < 300;
    if (key && mutated) this.mutations.set(key, (this.mutations.get(key) ?? 0) + 1);
    if (key && method !== 'GET' && (mutated || answer.status === 400 || answer.status === 422)) this.answers.set(key, answer);
    return answer;
  }

  private resource(method: string, path: string, body: any, ifMatch: string | null): StoredAnswer {
    const [, name, id, ...rest] = path.split('/');
    if (!name || rest.length > 0) return { status: 404, body: { error: 'no such route' } };
    const collection = this.collections.get(name) ?? new Map<string, Resource>();
    this.collections.set(name, collection);
    if (id === undefined) {
      if (method === 'GET') return { status: 200, body: { items: [...collection.values()].map((r) => ({ id: r.id, ...r.body })) } };
      if (method !== 'POST') return { status: 405, body: { error: 'method not allowed' } };
      if (body === null || typeof body !== 'object') return { status: 400, body: { error: 'a JSON object is expected' } };
      const resource: Resource = { id: `${name.slice(0, 3)}_${this.nextId++}`, version: 1, body: {} };
      const results = this.merge(resource, body);
      if (results && results.every((r) => r.status === 'rejected') && results.length > 0 && Object.keys(body).length === 1) {
        return { status: 422, body: { error: 'validation failed', results } };
      }
      collection.set(resource.id, resource);
      return this.represent(resource, results, 201);
    }
    const resource = collection.get(id);
    if (!resource) return { status: 404, body: { error: `no ${name} ${id}` } };
    if (method === 'GET') return this.represent(resource, null, 200);
    if (ifMatch !== null && ifMatch !== `"${resource.version}"`) {
      return { status: 412, body: { error: 'precondition failed: the resource changed', etag: `"${resource.version}"` } };
    }
    if (method === 'DELETE') {
      collection.delete(id);
      return { status: 204, body: undefined };
    }
    if (method !== 'PATCH' && method !== 'PUT') return { status: 405, body: { error: 'method not allowed' } };
    if (body === null || typeof body !== 'object') return { status: 400, body: { error: 'a JSON object is expected' } };
    if (method === 'PUT') resource.body = {};
    const results = this.merge(resource, body);
    const rejected = results?.filter((r) => r.status === 'rejected').length ?? 0;
    const accepted = (results?.length ?? 0) - rejected;
    if (results && rejected > 0 && accepted === 0 && Object.keys(body).length === 1) {
      return { status: 422, body: { error: 'validation failed', results } };
    }
    resource.version += 1;
    return this.represent(resource, results, rejected > 0 ? 207 : 200);
  }

  /** Sets properties; lines are validated and upserted by line_no. Returns per-line results when lines were sent. */
  private merge(resource: Resource, body: Record<string, any>): Array<Record<string, unknown>> | null {
    let results: Array<Record<string, unknown>> | null = null;
    for (const [property, value] of Object.entries(body)) {
      if (property !== 'lines') {
        resource.body[property] = value;
        continue;
      }
      results = [];
      const lines: any[] = resource.body['lines'] ?? [];
      (Array.isArray(value) ? value : []).forEach((line: any, index: number) => {
        if (this.discontinued.has(String(line?.sku))) {
          results!.push({ index, status: 'rejected', field: 'sku', reason: `SKU ${line.sku} is discontinued` });
          return;
        }
        const existing = lines.find((l) => l.line_no === line.line_no);
        if (existing) {
          Object.assign(existing, line);
          results!.push({ index, status: 'accepted', id: existing.id });
        } else {
          const created = { ...line, id: `lin_${this.nextId++}` };
          lines.push(created);
          results!.push({ index, status: 'accepted', id: created.id });
        }
      });
      resource.body['lines'] = lines;
    }
    return results;
  }

  private represent(resource: Resource, results: unknown, status: number): StoredAnswer {
    return { status, body: { id: resource.id, ...resource.body, ...(results ? { results } : {}) }, etag: `"${resource.version}"` };
  }

  private authorized(req: IncomingMessage): boolean {
    const auth = this.options.auth ?? { kind: 'none' };
    const authorization = req.headers['authorization'];
    switch (auth.kind) {
      case 'none':
        return true;
      case 'bearer':
        return authorization === `Bearer ${auth.token}`;
      case 'apiKey':
        return req.headers[auth.header.toLowerCase()] === auth.value;
      case 'basic':
        return authorization === `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      case 'oauth2': {
        const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : '';
        const expires = this.tokens.get(token);
        return expires !== undefined && expires > Date.now();
      }
    }
  }

  private token(raw: string): StoredAnswer {
    const auth = this.options.auth;
    if (auth?.kind !== 'oauth2') return { status: 404, body: { error: 'no token endpoint' } };
    const form = new URLSearchParams(raw);
    if (form.get('grant_type') !== 'client_credentials') return { status: 400, body: { error: 'unsupported_grant_type' } };
    if (form.get('client_id') !== auth.clientId || form.get('client_secret') !== auth.clientSecret) return { status: 401, body: { error: 'invalid_client' } };
    const token = `tok_${++this.tokensIssued}_${Math.random().toString(36).slice(2)}`;
    this.tokens.set(token, Date.now() + auth.tokenTtlMs);
    return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: auth.tokenTtlMs / 1000 } };
  }

  /** Expires every issued token now (a token revoked or expired early: the client sees 401). */
  expireTokens(): void {
    for (const token of this.tokens.keys()) this.tokens.set(token, 0);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
