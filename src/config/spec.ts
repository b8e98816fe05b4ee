import { z } from 'zod';

/**
 * The one configuration spec. Validation, defaults and the environment
 * variables that may override settings all come from here (see `env.ts`).
 * Secrets are never literal: `{ env: NAME }` or `{ file: path }` only.
 */

const identifier = z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and _; starting with a letter');

/** A secret (connection URL with password, token): read from the environment or a file. */
export const secretRef = z
  .union([
    z.object({ env: z.string().min(1) }).strict(),
    z.object({ file: z.string().min(1) }).strict(),
  ])
  .describe('secret: { env: NAME } or { file: path }');
export type SecretRef = z.infer<typeof secretRef>;

const postgresCapture = z
  .object({
    slot: identifier,
    publication: identifier,
    /** Interval of heartbeat messages written to the source (pg_logical_emit_message). 0 disables. */
    heartbeatMs: z.number().int().min(0).default(10_000),
    /** Status updates to the server at least this often (wal_sender_timeout is 60 s by default). */
    statusIntervalMs: z.number().int().min(100).default(5_000),
    /** Take an initial snapshot of mapped tables the slot has not seen. */
    snapshot: z.enum(['initial', 'never']).default('initial'),
    /** Events per batch handed to the pipeline. */
    maxBatchEvents: z.number().int().min(1).default(2_000),
    /** A partly filled batch is handed on after this long. */
    maxBatchDelayMs: z.number().int().min(0).default(50),
  })
  .strict();

const applySettings = z
  .object({
    /** Writes are conditional on the values tandem last saw (needed when the target is also captured). */
    conditional: z.boolean().optional(),
    /** Replication origin name tagging tandem's own writes (PostgreSQL; on MariaDB, with `echoServerId`), so their echoes are recognised. */
    origin: identifier.default('tandem'),
    /**
     * MariaDB targets (`type: mysql`): every pooled connection runs
     * `SET SESSION server_id = <echoServerId>` (the user needs SUPER, or
     * BINLOG REPLAY on MariaDB 10.5.2 and later), so the binlog events of
     * tandem's writes carry this server id; when the system is also captured
     * natively, capture marks them with `origin` and the pipeline drops their
     * echoes. Must differ from the server's own server_id and from
     * `capture.serverId`. Not for MySQL, whose server_id has no session scope
     * (the SET fails there).
     */
    echoServerId: z.number().int().min(1).max(4_294_967_295).optional(),
    /** Connections to the target. */
    poolSize: z.number().int().min(1).default(4),
    /**
     * Where an exception (this system refusing a change for good) is POSTed
     * as JSON. REST systems fall back to `rest.alertWebhook`.
     */
    alertWebhook: secretRef.optional(),
  })
  .strict();

/** Native MySQL/MariaDB capture: the row-based binlog, read as a replica would. */
const mysqlCapture = z
  .object({
    /** Replica server id tandem registers with; unique among the server's replicas. */
    serverId: z.number().int().min(1).max(4_294_967_295),
    /** Write heartbeats into the binlog (a row in `tandem_heartbeat`) this often; 0 disables. */
    heartbeatMs: z.number().int().min(0).default(10_000),
    snapshot: z.enum(['initial', 'never']).default('initial'),
    maxBatchEvents: z.number().int().min(1).default(2_000),
    maxBatchDelayMs: z.number().int().min(0).default(50),
  })
  .strict();

/** Native SQL Server capture: polls the CDC change tables of the mapped tables. */
const sqlserverCapture = z
  .object({
    pollIntervalMs: z.number().int().min(10).default(500),
    /** Capture instance per mapped table (`schema.table` → instance); default `<schema>_<table>`. */
    captureInstances: z.record(z.string(), z.string()).default({}),
    snapshot: z.enum(['initial', 'never']).default('initial'),
    maxBatchEvents: z.number().int().min(1).default(2_000),
  })
  .strict();

const CAPTURE_SPECS = { postgres: postgresCapture, mysql: mysqlCapture, sqlserver: sqlserverCapture } as const;
export type PostgresCaptureConfig = z.infer<typeof postgresCapture>;
export type MysqlCaptureConfig = z.infer<typeof mysqlCapture>;
export type SqlserverCaptureConfig = z.infer<typeof sqlserverCapture>;

/** Capture through Debezium connectors that publish to Kafka (see the top-level `kafka` section). */
const debeziumCapture = z
  .object({
    /** The connector's `topic.prefix`: change topics are `<prefix>.<schema>.<table>` (or `<prefix>.<db>.<table>`). */
    topicPrefix: z.string().min(1),
    connector: z.enum(['postgresql', 'mysql', 'mariadb', 'sqlserver']),
    /** Topics to read; default: one per mapped table, named from the prefix. */
    topics: z.array(z.string().min(1)).optional(),
    /** Or a regular expression of topics to subscribe to. */
    topicPattern: z.string().min(1).optional(),
    /** Debezium's heartbeat topic prefix (`heartbeat.interval.ms` on the connector). */
    heartbeatTopicPrefix: z.string().default('__debezium-heartbeat'),
    /** What a message that cannot be decoded does: park it in the dead-letter store and go on. */
    maxBatchEvents: z.number().int().min(1).default(2_000),
  })
  .strict();
export type DebeziumCaptureConfig = z.infer<typeof debeziumCapture>;

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
const restSettings = z
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

const systemSpec = z
  .object({
    type: z.enum(['postgres', 'mysql', 'sqlserver', 'rest']),
    url: secretRef,
    /** Native capture of this system's changes; its form depends on `type`. */
    capture: z.unknown().optional(),
    /** Or capture through Debezium and Kafka. */
    debezium: debeziumCapture.optional(),
    apply: applySettings.default({}),
    /** For `type: rest`: how the API is written. */
    rest: restSettings.optional(),
  })
  .strict()
  .transform((system, ctx) => {
    if (system.apply.echoServerId !== undefined && system.type !== 'mysql') {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['apply', 'echoServerId'], message: 'echoServerId applies to type: mysql systems only' });
      return z.NEVER;
    }
    if (system.capture === undefined) return { ...system, capture: undefined };
    if (system.type === 'rest') {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['capture'], message: 'a rest system is a target only: it cannot be captured' });
      return z.NEVER;
    }
    const parsed = CAPTURE_SPECS[system.type].safeParse(system.capture);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: ['capture', ...issue.path] } as z.IssueData);
      return z.NEVER;
    }
    if (system.type === 'mysql' && system.apply.echoServerId !== undefined && system.apply.echoServerId === (parsed.data as MysqlCaptureConfig).serverId) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['apply', 'echoServerId'], message: 'echoServerId must differ from capture.serverId (the replica id tandem reads the binlog with)' });
      return z.NEVER;
    }
    return { ...system, capture: parsed.data as PostgresCaptureConfig | MysqlCaptureConfig | SqlserverCaptureConfig };
  });

const kafkaSpec = z
  .object({
    brokers: z.array(z.string().min(1)).min(1),
    clientId: z.string().default('tandem'),
    /** Consumer group: every tandem instance of one deployment uses the same. */
    groupId: z.string().min(1).default('tandem'),
    ssl: z.union([z.boolean(), z.object({ ca: secretRef.optional(), cert: secretRef.optional(), key: secretRef.optional(), rejectUnauthorized: z.boolean().default(true) }).strict()]).default(false),
    sasl: z
      .object({ mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']), username: z.string().min(1), password: secretRef })
      .strict()
      .optional(),
    sessionTimeoutMs: z.number().int().min(1000).default(30_000),
    /** Partitions processed at once per instance. */
    partitionsConsumedConcurrently: z.number().int().min(1).default(4),
    fromBeginning: z.boolean().default(true),
  })
  .strict();
export type KafkaConfig = z.infer<typeof kafkaSpec>;

/** A converter step in a field mapping: a name, or a name with options. */
export const converterSpec = z.union([
  z.enum(['trim', 'upper', 'lower', 'empty-to-null']),
  z.object({ decimal: z.object({ scale: z.number().int().min(0).max(30) }).strict() }).strict(),
  z.object({ enum: z.record(z.string(), z.string()) }).strict(),
  z.object({ factor: z.union([z.number(), z.string()]) }).strict().describe('unit of measure: canonical = source × factor'),
  z.object({ timezone: z.string().min(1) }).strict().describe('local timestamp in this zone ⇄ canonical UTC instant'),
]);
export type ConverterSpec = z.infer<typeof converterSpec>;

const fieldMapping = z.union([
  z.string().min(1).describe('column name'),
  z
    .object({
      column: z.string().min(1),
      convert: z.array(converterSpec).default([]),
      /** The column holds the key of another entity's row in the same system. */
      ref: identifier.optional(),
      /** Only read from the source, never written to it. */
      readOnly: z.boolean().default(false),
    })
    .strict(),
]);

/**
 * `C{00000}`: the allocated number zero-padded to the width of the braces,
 * with any text around it. Without a format the number is the key as is.
 */
const keyFormat = z.string().regex(/^[^{}]*\{0+\}[^{}]*$/, 'a key format holds one run of zeros in braces, e.g. "C{00000}"');

/**
 * A key the system itself assigns, allocated by tandem from the system before
 * the insert: the next value of a sequence, or the first column of the first
 * row a query returns (e.g. `select next_customer_no()`).
 */
const keyAllocator = z.union([
  z.object({ sequence: z.string().min(1), format: keyFormat.optional() }).strict(),
  z.object({ sql: z.string().min(1), format: keyFormat.optional() }).strict(),
]);
export type KeyAllocatorSpec = z.infer<typeof keyAllocator>;

const keySpec = z
  .object({
    columns: z.array(z.string().min(1)).min(1),
    /**
     * Who makes the key of a row tandem inserts: derived from mapped fields
     * (none), a UUID tandem makes (uuid), the database on insert (database,
     * RETURNING), or allocated from the system before the insert
     * ({ sequence } or { sql }).
     */
    generated: z.union([z.enum(['none', 'uuid', 'database']), keyAllocator]).default('none'),
  })
  .strict();

/**
 * Columns of this table in which tandem writes the state of an exception (a
 * change from this row that another system refused for good), and clears it
 * again when the exception is resolved. Not canonical fields: they are never
 * read from the source nor sent to other systems.
 */
const exceptionColumns = z
  .object({
    status: z.string().min(1),
    error: z.string().min(1),
    /** Written to `status` when a change is refused. */
    rejectedValue: z.string().default('rejected'),
    /** Written to `status` when the exception is resolved (`error` is set to NULL). */
    resolvedValue: z.string().nullable().default('ok'),
  })
  .strict();
export type ExceptionColumnsSpec = z.infer<typeof exceptionColumns>;

export const mappingSpec = z
  .object({
    system: identifier,
    /** `schema.table`, or `table` for the default schema. */
    table: z.string().min(1),
    entity: identifier,
    key: keySpec,
    fields: z.record(identifier, fieldMapping),
    /** What a TRUNCATE of the source table does. */
    onTruncate: z.enum(['ignore', 'dead-letter']).default('dead-letter'),
    exceptionFields: exceptionColumns.optional(),
  })
  .strict();
export type MappingSpec = z.infer<typeof mappingSpec>;

/** `from -> to`; `*` stands for any state. */
const transition = z
  .string()
  .regex(/^\s*[^\s>]+\s*->\s*[^\s>]+\s*$/, 'a transition is written "from -> to" (* for any state)');

/** An instant with its offset, e.g. `2026-12-01T00:00:00Z`. */
const isoTime = z.string().datetime({ offset: true, message: 'an ISO-8601 time with its offset, e.g. 2026-12-01T00:00:00Z' });

/**
 * A named moment at which rules change (`cutovers.wave1.at`), referenced by
 * rule versions (`from: wave1`). A change is judged by the rules in force at
 * its source commit time, so the cutover is a commit time.
 */
const cutoverSpec = z
  .object({
    at: z
      .unknown()
      .superRefine((at, ctx) => {
        // Positions order changes within one source only; a change from another source could not be placed.
        if (typeof at === 'object' && at !== null) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'a cutover is at a commit time; per-source positions are not supported (use the time of the position, e.g. 2026-12-01T00:00:00Z)', fatal: true });
      })
      .pipe(isoTime),
  })
  .strict();
export type CutoverSpec = z.infer<typeof cutoverSpec>;

/**
 * One version of a field's ownership: `system` owns the field from `from` (a
 * cutover name or an ISO time) until the next version's `from`. The first
 * version has no `from`: it is in force before every cutover. `correct` and
 * `transitions` default to the field rule's. A version may instead make the
 * field shared for a while (`policy: latest-wins`, e.g. while both ERPs
 * edit prices during a migration).
 */
const ownerVersion = z
  .object({
    system: identifier.optional(),
    policy: z.enum(['latest-wins', 'max', 'min', 'first-wins', 'manual']).optional(),
    from: z.union([identifier, isoTime]).optional(),
    correct: z.boolean().optional(),
    transitions: z.record(identifier, z.array(transition)).optional(),
  })
  .strict()
  .superRefine((version, ctx) => {
    if ((version.system === undefined) === (version.policy === undefined)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'an owner version names a system (who owns the field from then on) or a shared policy, not both or neither' });
    } else if (version.policy !== undefined && (version.transitions !== undefined || version.correct !== undefined)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'transitions and correct belong to versions with an owner (system), not to a shared policy' });
    }
  });
export type OwnerVersionSpec = z.infer<typeof ownerVersion>;

const fieldRule = z
  .object({
    /** The owning system, or its versions over time (an ownership cutover). */
    owner: z.union([identifier, z.array(ownerVersion).min(1)]).optional(),
    /**
     * owner: only the owner changes it. Shared fields: latest-wins (later
     * commit), max, min, first-wins (the system that set it first), manual
     * (held for a person to decide).
     */
    policy: z.enum(['owner', 'latest-wins', 'max', 'min', 'first-wins', 'manual']).optional(),
    /** Write the kept value back to a system whose change was rejected. */
    correct: z.boolean().optional(),
    /**
     * A workflow-state field: the transitions each non-owning system may
     * make. The owner may make any; anything else is a conflict.
     */
    transitions: z.record(identifier, z.array(transition)).optional(),
  })
  .strict();
export type FieldRuleSpec = z.infer<typeof fieldRule>;

const fieldGroup = fieldRule.extend({ fields: z.array(identifier).min(1) }).strict();

const mergeSpec = z.union([
  z.object({ detect: z.literal('reference-repoint') }).strict(),
  z.object({
    /** `table` (in the schema/database of the entity's mapped table) or `schema.table`. */
    table: z.string().min(1),
    /** The system that writes the merge table; default the entity's owner (the system of record merges there). */
    system: identifier.optional(),
    /** Column holding the merged-away record's key. */
    loser: z.string().min(1),
    /** Column holding the key of the record that remains. */
    survivor: z.string().min(1),
  }).strict(),
]);
export type MergeSpec = z.infer<typeof mergeSpec>;

export const entitySpec = z
  .object({
    /** Default owner of every field and of the record's existence (creates and deletes). */
    owner: identifier,
    fields: z.record(identifier, fieldRule).default({}),
    /** One rule for several fields at once (an address, a price block). */
    groups: z.record(identifier, fieldGroup).default({}),
    /** Write owned values back to offenders unless a field rule says otherwise. */
    correct: z.boolean().default(true),
    /** Systems in priority order, for ties under latest-wins. */
    priority: z.array(identifier).default([]),
    /**
     * Systems that may create records of this entity (default: any). A
     * creation elsewhere is a conflict: removed from that system (correct:
     * true) or held for review.
     */
    create: z.array(identifier).min(1).optional(),
    /**
     * How a merge of two records shows in a source (see src/conflict/merge.ts):
     * `{ detect: reference-repoint }` (children moved from A to B and A deleted
     * in one transaction) or a merge table the source writes.
     */
    merge: mergeSpec.optional(),
  })
  .strict();
export type EntitySpec = z.infer<typeof entitySpec>;

const DURATION_UNITS_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration written `500ms`, `30s`, `15m`, `1h` or `1d`, as milliseconds. */
export const durationSpec = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 30s, 15m, 1h or 1d')
  .transform((text) => {
    const [, amount, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(text)!;
    return Number(amount) * DURATION_UNITS_MS[unit as keyof typeof DURATION_UNITS_MS];
  });

/** Scheduled compare inside `tandem run` (the same compare as `tandem compare`), feeding the mismatch metrics. */
const reconcileSpec = z
  .object({
    /** Time between the end of one compare and the start of the next. */
    every: durationSpec,
    /** Entities to compare; empty: every entity. */
    entities: z.array(identifier).default([]),
    /** Queue the rule-correct value for every difference found (`tandem compare --repair`). */
    repair: z.boolean().default(false),
  })
  .strict();
export type ReconcileConfig = z.infer<typeof reconcileSpec>;

/**
 * Anchoring the conflict log: signed checkpoints of its hash chain, written
 * to the state store and to sinks outside it, so that rewriting the log (even
 * by the database's owner) is detected by `tandem conflicts verify`.
 */
const auditSpec = z
  .object({
    /** Ed25519 private key: PEM (PKCS#8) or the raw 32-byte seed in base64 (`tandem audit keygen` makes one). */
    signingKey: secretRef,
    /** A checkpoint once this many rows were logged since the last, or once the last is this old and rows were logged since. */
    checkpointEvery: z
      .object({ rows: z.number().int().min(1).default(1_000), interval: durationSpec.default('5m') })
      .strict()
      .default({}),
    /** At least one: a file (one JSON line per checkpoint, appended and fsynced) and/or a webhook (POST JSON, retried). */
    sinks: z
      .object({
        /** Path of the checkpoint file; relative paths are relative to the configuration file. */
        file: z.string().min(1).optional(),
        /** URL the checkpoints are POSTed to: a secret, since it may carry a token. */
        webhook: secretRef.optional(),
      })
      .strict()
      .refine((sinks) => sinks.file !== undefined || sinks.webhook !== undefined, 'name at least one sink: file and/or webhook'),
  })
  .strict();
export type AuditConfig = z.infer<typeof auditSpec>;

export const configSpec = z
  .object({
    stateStore: z.object({ url: secretRef, schema: identifier.default('tandem') }).strict(),
    redis: z.object({ url: secretRef, keyPrefix: z.string().default('tandem:') }).strict().optional(),
    kafka: kafkaSpec.optional(),
    systems: z.record(identifier, systemSpec),
    /** Named moments at which rule versions take effect (`from: <name>`). */
    cutovers: z.record(identifier, cutoverSpec).default({}),
    entities: z.record(identifier, entitySpec),
    mappings: z.array(mappingSpec).min(1),
    pipeline: z
      .object({
        /** Batches waiting between capture and resolve, per source. */
        queueDepth: z.number().int().min(1).default(4),
        /** Outbox tasks claimed per poll. */
        applyBatch: z.number().int().min(1).default(500),
        /** Target writes in flight at once, per target. */
        applyConcurrency: z.number().int().min(1).default(8),
        applyPollMs: z.number().int().min(10).default(100),
        /** A claimed task may be retaken by another instance after this long. */
        leaseMs: z.number().int().min(1000).default(60_000),
        maxAttempts: z.number().int().min(1).default(10),
        /** Allow running without Redis (deduplication then uses the state store). */
        allowNoRedis: z.boolean().default(false),
        /**
         * When a source fails for good (binary log off, changes purged, a capture
         * instance missing): `stop` ends tandem with exit 1 and the reason;
         * `isolate` keeps the other sources and the targets running, and the
         * failed source shows in /readyz, `tandem status` and the metrics.
         */
        onSourceFailure: z.enum(['stop', 'isolate']).default('stop'),
      })
      .strict()
      .default({}),
    /**
     * The change journal (canonical changes as resolved), kept this many hours
     * so `tandem rules simulate` and `tandem replay` can replay changes.
     * `enabled: false` stops journalling (one row write per change less) for
     * deployments that use neither; those commands then have nothing to replay.
     */
    journal: z.object({ enabled: z.boolean().default(true), retentionHours: z.number().min(0).default(168) }).strict().default({}),
    metrics: z
      .object({ port: z.number().int().min(0).max(65535).default(9464), host: z.string().default('127.0.0.1') })
      .strict()
      .default({}),
    log: z.object({ level: z.enum(['error', 'warn', 'info', 'debug']).default('info') }).strict().default({}),
    audit: auditSpec.optional(),
    reconcile: reconcileSpec.optional(),
  })
  .strict();

export type TandemConfig = z.infer<typeof configSpec>;
export type SystemConfig = TandemConfig['systems'][string];
