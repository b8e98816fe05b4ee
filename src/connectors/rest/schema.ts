import { z } from 'zod';
import { identifier, secretRef } from '../../config/primitives';

const httpMethod = z.enum(['POST', 'PUT', 'PATCH', 'DELETE']);
/** One request of a REST endpoint; `path` may hold `{id}` (the target's id of the record). */
const restRequest = z.object({ method: httpMethod, path: z.string().startsWith('/') }).strict();

/** How a REST target is written, per entity. */
const restEndpoint = z
  .object({
    create: restRequest,
    /** `path` holds `{id}`. Also read with GET (for the ETag after a 409/412). */
    update: restRequest,
    delete: restRequest.optional(),
    /** Property of the target's response holding the record's id (dotted for nested). */
    idField: z.string().min(1).default('id'),
    /**
     * Lines of an order-like entity, written through their header: each line
     * change is sent as `{ <property>: [line] }` with the header's update
     * request, and the target answers per line (207/422 with a `lines` array).
     */
    lines: z
      .object({
        /** The line entity (e.g. `order_line`). */
        entity: identifier,
        /** Canonical field of the line that references the header (e.g. `order`). */
        ref: identifier,
        /** JSON property of the header's body that holds the lines. */
        property: z.string().min(1).default('lines'),
        /**
         * Canonical fields of the line in which a rejection is written back
         * to the system the line came from (e.g. `sync_status` / `sync_error`).
         */
        exceptionFields: z.object({ status: identifier, error: identifier, rejectedValue: z.string().default('rejected') }).strict().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type RestEndpointConfig = z.infer<typeof restEndpoint>;

const restAuth = z.union([
  z.object({ bearer: secretRef }).strict(),
  z.object({ apiKey: z.object({ header: z.string().min(1), value: secretRef }).strict() }).strict(),
  z.object({ basic: z.object({ username: z.string().min(1), password: secretRef }).strict() }).strict(),
  z.object({
    oauth2: z.object({ tokenUrl: z.string().url(), clientId: z.string().min(1), clientSecret: secretRef, scope: z.string().optional() }).strict(),
  }).strict(),
]);
export type RestAuthConfig = z.infer<typeof restAuth>;

/** A system written through its REST API (a target only: nothing is captured from it). */
export const restSettings = z
  .object({
    auth: restAuth.optional(),
    /** Per request, connection included. */
    timeoutMs: z.number().int().min(1).default(10_000),
    /** Requests per second to this target (token bucket); unset: no limit. */
    rateLimitPerSecond: z.number().positive().optional(),
    /** Requests that may go at once beyond the steady rate. */
    rateLimitBurst: z.number().int().min(1).default(1),
    circuitBreaker: z
      .object({ failureThreshold: z.number().int().min(1).default(5), resetMs: z.number().int().min(10).default(30_000) })
      .strict()
      .default({}),
    /** Alerts (a rejected order line) are POSTed here as JSON. */
    alertWebhook: secretRef.optional(),
    endpoints: z.record(identifier, restEndpoint),
  })
  .strict();
export type RestSettings = z.infer<typeof restSettings>;
