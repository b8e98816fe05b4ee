/**
 * One HTTP exchange with a REST target, with everything that guards it: the
 * rate limit, the circuit breaker, the timeout, authorization (a 401 refreshes
 * OAuth2 once), and the classification of what came back into an answer or
 * an ApplyError that says whether to retry and when.
 */
import { ApplyError, type ErrorContext } from '../../errors';
import type { AuthProvider } from './auth';
import type { CircuitBreaker } from './circuit-breaker';
import { parseRetryAfter } from './retry-after';
import type { TokenBucket } from './token-bucket';

export interface RestRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the base URL, already filled in. */
  path: string;
  body?: unknown;
  idempotencyKey?: string;
  correlationId?: string;
  ifMatch?: string;
}

export interface RestResponse {
  status: number;
  body: unknown;
  etag: string | null;
}

export interface HttpClientOptions {
  baseUrl: string;
  timeoutMs: number;
  auth: AuthProvider;
  breaker: CircuitBreaker;
  limiter: TokenBucket | null;
  /** Context for errors (system). */
  context: ErrorContext;
}

/** Response bodies kept in errors (and so in dead letters) are cut at this length. */
const BODY_LIMIT = 4_000;

export class HttpClient {
  /** Until then, the target asked (429/503 Retry-After) not to be called. */
  private pausedUntil = 0;
  requests = 0;

  constructor(private readonly options: HttpClientOptions) {}

  /**
   * Sends the request. Resolves for 2xx and for the statuses in `accept`
   * (the caller reads their body); throws an ApplyError otherwise.
   */
  async send(request: RestRequest, context: ErrorContext, accept: readonly number[] = []): Promise<RestResponse> {
    const where = { ...this.options.context, ...context };
    const described = `${request.method} ${request.path}`;
    const wait = this.pausedUntil - Date.now();
    if (wait > 0) {
      throw new ApplyError(`${described}: target asked to wait (Retry-After), ${wait} ms left`, { ...where, retriable: true, code: 'REST_RATE_LIMITED', retryAfterMs: wait });
    }
    const admission = this.options.breaker.admit();
    if (!admission.allowed) {
      throw new ApplyError(`${described}: circuit open, not calling the target`, { ...where, retriable: true, code: 'REST_CIRCUIT_OPEN', retryAfterMs: admission.retryInMs });
    }
    let response: RestResponse & { headers: Headers };
    try {
      response = await this.exchange(request, true);
    } catch (error) {
      // The token endpoint's own answer (OAuth2), as it is.
      if (error instanceof ApplyError) {
        if (error.retriable) this.options.breaker.failure();
        else this.options.breaker.neutral();
        throw error;
      }
      this.options.breaker.failure();
      const name = (error as Error).name;
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      const what = name === 'TimeoutError' ? `timed out after ${this.options.timeoutMs} ms` : `failed (${cause ?? name}: ${(error as Error).message})`;
      throw new ApplyError(`${described} ${what}`, { ...where, retriable: true, code: name === 'TimeoutError' ? 'REST_TIMEOUT' : 'REST_NETWORK', details: { request: summary(request) } }, { cause: error });
    }
    const { status } = response;
    const details = { request: summary(request), status, response: cut(response.body) };
    if ((status >= 200 && status < 300) || accept.includes(status)) {
      this.options.breaker.success();
      return response;
    }
    if (status === 429 || status === 503) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      if (retryAfterMs !== undefined) this.pausedUntil = Math.max(this.pausedUntil, Date.now() + retryAfterMs);
      if (status === 503) this.options.breaker.failure();
      else this.options.breaker.neutral();
      throw new ApplyError(`${described} answered ${status}${retryAfterMs !== undefined ? `, retry after ${retryAfterMs} ms` : ''}`, { ...where, retriable: true, code: status === 429 ? 'REST_RATE_LIMITED' : 'REST_UNAVAILABLE', retryAfterMs, details });
    }
    if (status >= 500) {
      this.options.breaker.failure();
      throw new ApplyError(`${described} answered ${status}: ${bodyText(response.body)}`, { ...where, retriable: true, code: 'REST_SERVER_ERROR', details });
    }
    this.options.breaker.neutral();
    if (status === 408) {
      throw new ApplyError(`${described} answered 408`, { ...where, retriable: true, code: 'REST_TIMEOUT', details });
    }
    if (status === 409 || status === 412) {
      throw new ApplyError(`${described} answered ${status} (changed in the target meanwhile)`, { ...where, retriable: true, code: 'REST_CONFLICT', details });
    }
    // 400, 401 after a refresh, 403, 404, 422, …: the target refuses this request as it is.
    throw new ApplyError(`${described} rejected with ${status}: ${bodyText(response.body)}`, { ...where, retriable: false, code: status === 401 || status === 403 ? 'REST_UNAUTHORIZED' : 'REST_REJECTED', details });
  }

  private async exchange(request: RestRequest, mayRefresh: boolean): Promise<RestResponse & { headers: Headers }> {
    if (this.options.limiter) await this.options.limiter.take();
    const headers: Record<string, string> = { accept: 'application/json', ...(await this.options.auth.headers()) };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    if (request.idempotencyKey) headers['idempotency-key'] = request.idempotencyKey;
    if (request.correlationId) headers['x-correlation-id'] = request.correlationId;
    if (request.ifMatch) headers['if-match'] = request.ifMatch;
    this.requests += 1;
    const response = await fetch(joinUrl(this.options.baseUrl, request.path), {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    const text = await response.text();
    if (response.status === 401 && mayRefresh && this.options.auth.invalidate()) return this.exchange(request, false);
    let body: unknown = text;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    } else body = null;
    return { status: response.status, body, etag: response.headers.get('etag'), headers: response.headers };
  }
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

function summary(request: RestRequest): Record<string, unknown> {
  return { method: request.method, path: request.path, idempotencyKey: request.idempotencyKey, correlationId: request.correlationId, ifMatch: request.ifMatch, body: request.body };
}

function cut(body: unknown): unknown {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text !== undefined && text.length > BODY_LIMIT ? `${text.slice(0, BODY_LIMIT)}…` : body;
}

function bodyText(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text === undefined ? '' : text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}
