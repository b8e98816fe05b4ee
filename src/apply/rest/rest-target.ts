/**
 * Applies outbox tasks to a system through its REST API, one request per
 * task, with the task id as `Idempotency-Key` (a retried create returns the
 * first response, so the record is made once) and the correlation id as
 * `X-Correlation-Id`. The target's id of a record is kept in the crosswalk.
 *
 * Lines of order-like entities are written through their header
 * (`{ lines: [line] }` with the header's update request); a line the target
 * rejects (207/422 with per-line results) becomes an exception: a permanent
 * ApplyError carrying the write-back for the originating system, and an
 * alert to the configured webhook. The header and the other lines stay applied.
 */
import type { Row } from '../../capture';
import type { RestEndpointConfig } from '../../config/spec';
import { ApplyError, DependencyPendingError, errorMessage, type ErrorContext } from '../../errors';
import type { Fields, Mapping } from '../../transform';
import type { ApplyContext, BatchResult } from '../target';
import { recordRow, upsertInput } from '../upsert-input';
import type { ApplyOutcome, ApplyTask } from '../task';
import { authProvider, type AuthProvider, type RestAuth } from './auth';
import { CircuitBreaker, type CircuitState } from './circuit-breaker';
import { HttpClient, type RestRequest, type RestResponse } from './http';
import { buildPayload, readPath } from './payload';
import { TokenBucket } from './token-bucket';

export type RestApplyContext = ApplyContext;

export interface RestTargetOptions {
  /** Configured system name (crosswalk and error context). */
  system: string;
  /** Base URL of the API (a secret: it may name a tenant). */
  baseUrl: string;
  auth: RestAuth;
  timeoutMs: number;
  rateLimitPerSecond?: number;
  rateLimitBurst?: number;
  circuitBreaker: { failureThreshold: number; resetMs: number };
  /** Where alerts are POSTed (a secret URL). */
  alertWebhook?: string;
  endpoints: Record<string, RestEndpointConfig>;
  /** Tasks of one batch in flight at once. */
  concurrency?: number;
  log?: (level: 'error' | 'warn' | 'info' | 'debug', message: string, meta?: Record<string, unknown>) => void;
}

/** The per-line answer of the target (see test/support/saas-server.ts and the README). */
interface LineResult {
  index: number;
  status: 'accepted' | 'rejected';
  id?: unknown;
  reason?: unknown;
}

const ETAG_CACHE_LIMIT = 10_000;

export class RestTarget {
  readonly system: string;
  readonly breaker: CircuitBreaker;
  readonly auth: AuthProvider;
  private readonly http: HttpClient;
  private readonly options: RestTargetOptions;
  /** Line entity → its header entity and lines settings. */
  private readonly lineOwners = new Map<string, { header: string; endpoint: RestEndpointConfig; lines: NonNullable<RestEndpointConfig['lines']> }>();
  /** Last ETag seen per record in the target, for If-Match. */
  private readonly etags = new Map<string, string>();

  constructor(options: RestTargetOptions) {
    this.options = options;
    this.system = options.system;
    const log = options.log ?? (() => undefined);
    this.breaker = new CircuitBreaker({
      ...options.circuitBreaker,
      onStateChange: (from: CircuitState, to: CircuitState) => log(to === 'open' ? 'warn' : 'info', `circuit of REST target ${options.system}: ${from} → ${to}`, { system: options.system }),
    });
    this.auth = authProvider(options.auth, options.timeoutMs);
    const limiter = options.rateLimitPerSecond ? new TokenBucket({ ratePerSecond: options.rateLimitPerSecond, burst: options.rateLimitBurst ?? 1 }) : null;
    this.http = new HttpClient({ baseUrl: options.baseUrl, timeoutMs: options.timeoutMs, auth: this.auth, breaker: this.breaker, limiter, context: { system: options.system } });
    for (const [header, endpoint] of Object.entries(options.endpoints)) {
      if (endpoint.lines) this.lineOwners.set(endpoint.lines.entity, { header, endpoint, lines: endpoint.lines });
    }
  }

  /** Requests sent to the target (breaker- and rate-limit-refused ones not counted). */
  get requestsSent(): number {
    return this.http.requests;
  }

  async apply(task: ApplyTask, ctx: RestApplyContext): Promise<ApplyOutcome> {
    const line = this.lineOwners.get(task.entity);
    if (line) return this.applyLine(task, ctx, line);
    const endpoint = this.options.endpoints[task.entity];
    if (!endpoint) throw this.rejected(task, `no endpoint is configured for entity ${task.entity}`);
    return task.op === 'delete' ? this.remove(task, ctx, endpoint) : this.upsert(task, ctx, endpoint);
  }

  /** Applies several tasks of one entity; one task's failure is reported for that task alone. */
  async applyBatch(tasks: ApplyTask[], ctx: RestApplyContext): Promise<BatchResult[]> {
    const results: BatchResult[] = new Array(tasks.length);
    let next = 0;
    const worker = async () => {
      while (next < tasks.length) {
        const i = next++;
        const task = tasks[i]!;
        try {
          results[i] = { task, outcome: await this.apply(task, ctx) };
        } catch (error) {
          results[i] = { task, error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(tasks.length, this.options.concurrency ?? 8) }, worker));
    return results;
  }

  async close(): Promise<void> {}

  private async upsert(task: ApplyTask, ctx: RestApplyContext, endpoint: RestEndpointConfig): Promise<ApplyOutcome> {
    const id = await this.knownId(task.entity, task.key, ctx);
    if (id !== null) {
      const input = await upsertInput(this.system, false, task, ctx);
      if (input.bindings.length === 0) return { status: 'already-applied', localKey: id };
      const updated = await this.update(task, endpoint, id, ctx.mapping.toRow(input.wanted));
      if (updated) return { status: 'applied', localKey: id };
      // Gone from the target (404): made again, as the SQL target puts a deleted row back.
    }
    const row = await recordRow(this.system, task, ctx);
    const response = await this.http.send(this.request(task, endpoint.create.method, endpoint.create.path, null, buildPayload(row)), this.where(task, ctx.mapping));
    const newId = readPath(response.body, endpoint.idField);
    if (typeof newId !== 'string' && typeof newId !== 'number') {
      throw this.rejected(task, `the create response has no id at "${endpoint.idField}": ${JSON.stringify(response.body)?.slice(0, 500)}`);
    }
    const localKey = String(newId);
    this.remember(task.entity, localKey, response);
    await ctx.crosswalk.link(task.entity, this.system, localKey, task.key);
    return { status: 'applied', localKey };
  }

  /** Sends the update; false when the target no longer has the record. */
  private async update(task: ApplyTask, endpoint: RestEndpointConfig, id: string, row: Row): Promise<boolean> {
    const where = this.where(task, null);
    const request = this.request(task, endpoint.update.method, endpoint.update.path, id, buildPayload(row));
    request.ifMatch = this.etags.get(`${task.entity}:${id}`);
    let response: RestResponse;
    try {
      response = await this.http.send(request, where, [404]);
    } catch (error) {
      if (error instanceof ApplyError && error.code === 'REST_CONFLICT') await this.reread(task, endpoint, id);
      throw error;
    }
    if (response.status === 404) {
      this.etags.delete(`${task.entity}:${id}`);
      return false;
    }
    this.remember(task.entity, id, response);
    return true;
  }

  /**
   * The record changed in the target (409/412): read it again so the retry
   * carries its current ETag. The retry (through the outbox) sends only the
   * fields tandem's ownership rules decided, on top of the current version.
   */
  private async reread(task: ApplyTask, endpoint: RestEndpointConfig, id: string): Promise<void> {
    try {
      const response = await this.http.send({ method: 'GET', path: fill(endpoint.update.path, id), correlationId: task.correlationId }, this.where(task, null), [404]);
      if (response.status === 404) this.etags.delete(`${task.entity}:${id}`);
      else this.remember(task.entity, id, response);
    } catch (error) {
      this.options.log?.('warn', 're-read after a conflict failed', { correlationId: task.correlationId, system: this.system, error: errorMessage(error) });
    }
  }

  private async remove(task: ApplyTask, ctx: RestApplyContext, endpoint: RestEndpointConfig): Promise<ApplyOutcome> {
    const id = await this.knownId(task.entity, task.key, ctx);
    if (id === null) return { status: 'deleted', localKey: null };
    if (!endpoint.delete) throw this.rejected(task, `no delete endpoint is configured for entity ${task.entity}`);
    await this.http.send(this.request(task, endpoint.delete.method, endpoint.delete.path, id, undefined), this.where(task, ctx.mapping), [404]);
    this.etags.delete(`${task.entity}:${id}`);
    return { status: 'deleted', localKey: id };
  }

  private async applyLine(
    task: ApplyTask,
    ctx: RestApplyContext,
    owner: { header: string; endpoint: RestEndpointConfig; lines: NonNullable<RestEndpointConfig['lines']> },
  ): Promise<ApplyOutcome> {
    const { header, endpoint, lines } = owner;
    if (task.op === 'delete') throw this.rejected(task, `deleting a ${task.entity} through its ${header} is not supported by this target`);
    const record: Fields = { ...task.record, ...task.fields };
    const headerKey = record[lines.ref];
    if (typeof headerKey !== 'string') throw this.rejected(task, `the line has no ${lines.ref} (its ${header})`);
    const headerId = await this.knownId(header, headerKey, ctx);
    if (headerId === null) {
      throw new DependencyPendingError(`${this.system}: ${task.entity} ${task.key} waits for ${header} ${headerKey}, which ${this.system} does not have yet`, this.where(task, ctx.mapping));
    }
    // The whole line (the target upserts lines by their own fields), without the header reference: the path names the header.
    const { [lines.ref]: _ref, ...lineFields } = record;
    const lineRow = await recordRow(this.system, { ...task, record: lineFields, fields: {} }, ctx);
    const line = buildPayload(lineRow);
    const body = buildPayload({ [lines.property]: [line] });
    const where = this.where(task, ctx.mapping);
    const response = await this.http.send(this.request(task, endpoint.update.method, endpoint.update.path, headerId, body), where, [207, 422]);
    const result = lineResults(response.body)[0];
    if (result?.status === 'rejected' || (response.status === 422 && !result)) {
      const reason = result ? String(result.reason ?? 'rejected') : JSON.stringify(response.body);
      await this.lineRejected(task, header, headerKey, headerId, line, reason, lines.exceptionFields);
      throw new ApplyError(`${this.system} rejected ${task.entity} ${task.key} of ${header} ${headerId}: ${reason}`, {
        ...where, retriable: false, code: 'REST_LINE_REJECTED',
        details: { request: { method: endpoint.update.method, path: fill(endpoint.update.path, headerId), body }, status: response.status, response: response.body, reason },
        writeBack: lines.exceptionFields
          ? { entity: task.entity, key: task.key, fields: { [lines.exceptionFields.status]: lines.exceptionFields.rejectedValue, [lines.exceptionFields.error]: reason } }
          : undefined,
      });
    }
    this.remember(header, headerId, response);
    const lineId = result?.id;
    const localKey = typeof lineId === 'string' || typeof lineId === 'number' ? String(lineId) : `${headerId}#${task.key}`;
    if (typeof lineId === 'string' || typeof lineId === 'number') await ctx.crosswalk.link(task.entity, this.system, localKey, task.key);
    return { status: 'applied', localKey };
  }

  /** Alerts the webhook about a rejected line. A failed alert is logged: the exception itself is kept in any case. */
  private async lineRejected(task: ApplyTask, header: string, headerKey: string, headerId: string, line: unknown, reason: string, exceptionFields: unknown): Promise<void> {
    this.options.log?.('warn', 'target rejected an order line; recorded as an exception', { correlationId: task.correlationId, system: this.system, entity: task.entity, key: task.key, reason });
    if (!this.options.alertWebhook) return;
    const alert = {
      kind: 'tandem.line_rejected',
      system: this.system, entity: task.entity, key: task.key,
      header: { entity: header, key: headerKey, targetId: headerId },
      line, reason, correlationId: task.correlationId, taskId: task.id,
      writtenBack: exceptionFields !== undefined,
      at: new Date().toISOString(),
    };
    try {
      const response = await fetch(this.options.alertWebhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `alert-${task.id}`, 'x-correlation-id': task.correlationId },
        body: JSON.stringify(alert),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`webhook answered ${response.status}`);
    } catch (error) {
      this.options.log?.('error', 'alert webhook failed; the exception is still recorded in the dead-letter store', { correlationId: task.correlationId, system: this.system, error: (error as Error).message });
    }
  }

  private request(task: ApplyTask, method: RestRequest['method'], path: string, id: string | null, body: unknown): RestRequest {
    return { method, path: id === null ? path : fill(path, id), body, idempotencyKey: task.id, correlationId: task.correlationId };
  }

  private remember(entity: string, id: string, response: RestResponse): void {
    if (!response.etag) return;
    const key = `${entity}:${id}`;
    this.etags.delete(key);
    this.etags.set(key, response.etag);
    if (this.etags.size > ETAG_CACHE_LIMIT) this.etags.delete(this.etags.keys().next().value as string);
  }

  private async knownId(entity: string, key: string, ctx: RestApplyContext): Promise<string | null> {
    const found = await ctx.crosswalk.localKeys(entity, this.system, [key]);
    return found.get(key) ?? null;
  }

  private where(task: ApplyTask, mapping: Mapping | null): ErrorContext {
    return { system: this.system, table: mapping?.table, entity: task.entity, key: task.key, correlationId: task.correlationId };
  }

  private rejected(task: ApplyTask, reason: string): ApplyError {
    return new ApplyError(`${this.system}: cannot apply ${task.entity} ${task.key}: ${reason}`, { ...this.where(task, null), retriable: false, code: 'REST_NOT_APPLICABLE' });
  }
}

function fill(path: string, id: string): string {
  return path.replaceAll('{id}', encodeURIComponent(id));
}

function lineResults(body: unknown): LineResult[] {
  const results = readPath(body, 'results');
  if (!Array.isArray(results)) return [];
  return results.filter((r): r is LineResult => r !== null && typeof r === 'object' && (r.status === 'accepted' || r.status === 'rejected'))
    .sort((a, b) => Number(a.index) - Number(b.index));
}
