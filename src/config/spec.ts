import { z } from 'zod';
import { connectorFor, debeziumConnectorNames, isSystemType, systemTypes } from '../connectors';
import { debeziumCapture } from '../connectors/debezium/schema';
import { restSettings } from '../connectors/rest/schema';
import { identifier, secretRef } from './primitives';

/**
 * The one configuration spec. Validation, defaults and the environment
 * variables that may override settings all come from here (see `env.ts`).
 * Secrets are never literal: `{ env: NAME }` or `{ file: path }` only.
 * Each system type's part (capture settings, its own checks) comes from its
 * connector (src/connectors), looked up by `type` when a system is parsed.
 */

export { secretRef, type SecretRef } from './primitives';
export type { PostgresCaptureConfig } from '../connectors/postgres/schema';
export type { MysqlCaptureConfig } from '../connectors/mysql/schema';
export type { SqlserverCaptureConfig } from '../connectors/sqlserver/schema';
export type { DebeziumCaptureConfig } from '../connectors/debezium/schema';
export type { RestEndpointConfig, RestAuthConfig, RestSettings } from '../connectors/rest/schema';

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

const systemType = z.string().refine(isSystemType, (type) => ({ message: `unknown system type "${type}" (types: ${systemTypes().join(', ')})` }));

/**
 * Blocks of a system entry that belong to one type's connector (its
 * `config.settingsKey`): `rest:` holds how a REST API is written.
 */
export const settingsBlocks = { rest: restSettings } as const;
type SettingsBlocks = typeof settingsBlocks;
const optionalSettingsBlocks = Object.fromEntries(Object.entries(settingsBlocks).map(([key, schema]) => [key, schema.optional()])) as {
  [K in keyof SettingsBlocks]: z.ZodOptional<SettingsBlocks[K]>;
};

const systemSpec = z
  .object({
    type: systemType,
    url: secretRef,
    /** Native capture of this system's changes; its form is its type's connector's `config.capture`. */
    capture: z.unknown().optional(),
    /** Or capture through Debezium and Kafka. */
    debezium: debeziumCapture.optional(),
    apply: applySettings.default({}),
    /** For `type: rest`: `rest`, how the API is written. */
    ...optionalSettingsBlocks,
  })
  .strict()
  .transform((system, ctx) => {
    if (!isSystemType(system.type)) return z.NEVER; // already reported by `type`
    const connector = connectorFor(system.type);
    const issue = (path: Array<string | number>, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
    if (system.apply.echoServerId !== undefined && !connector.config.echoServerId) {
      issue(['apply', 'echoServerId'], `echoServerId applies to systems of type ${systemTypes().filter((t) => connectorFor(t).config.echoServerId).join(', ')} only`);
      return z.NEVER;
    }
    // A type's own settings block (`rest:`) belongs to the types whose connector reads it.
    for (const key of Object.keys(settingsBlocks) as Array<keyof typeof settingsBlocks>) {
      if (system[key] === undefined || connector.config.settingsKey === key) continue;
      issue([key], `${key} settings belong to systems of type ${systemTypes().filter((t) => connectorFor(t).config.settingsKey === key).join(', ')}`);
      return z.NEVER;
    }
    if (system.debezium) {
      const names = connector.debezium?.connectors ?? [];
      if (names.length === 0) issue(['debezium'], `a ${system.type} system is a target only: it cannot be captured`);
      else if (!names.includes(system.debezium.connector)) {
        issue(['debezium', 'connector'], `a ${system.type} system is captured by Debezium's ${names.join(' or ')} connector, not "${system.debezium.connector}" (known: ${debeziumConnectorNames().join(', ')})`);
      }
      if (names.length === 0 || !names.includes(system.debezium.connector)) return z.NEVER;
    }
    let capture: unknown;
    if (system.capture !== undefined) {
      if (!connector.config.capture) {
        issue(['capture'], `a ${system.type} system is a target only: it cannot be captured`);
        return z.NEVER;
      }
      const parsed = connector.config.capture.safeParse(system.capture);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: ['capture', ...issue.path] } as z.IssueData);
        return z.NEVER;
      }
      capture = parsed.data;
    }
    const problems = connector.config.check?.(system, capture) ?? [];
    for (const problem of problems) issue(problem.path, problem.message);
    if (problems.length > 0) return z.NEVER;
    return { ...system, capture };
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
    from: z
      .string()
      .refine((from) => identifier.safeParse(from).success || isoTime.safeParse(from).success, 'a cutover name (e.g. wave1) or an ISO time with its offset (e.g. 2026-12-01T00:00:00Z)')
      .optional(),
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

/**
 * The operations console served at `/` beside `/metrics` (see README "Console").
 * Read-only unless `actions` is on; a `token` is required to serve it beyond
 * loopback (`metrics.host` other than 127.0.0.1, ::1 or localhost).
 */
const consoleSpec = z
  .object({
    enabled: z.boolean().default(true),
    /** Allow retrying and discarding dead letters from the console. */
    actions: z.boolean().default(false),
    /** Asked for once per browser (kept in a cookie); required beyond loopback. */
    token: secretRef.optional(),
    /** The overview says STALLED when a source's lag, or pending work with no task finished, lasts this long. */
    stallAfter: durationSpec.default('60s'),
  })
  .strict()
  .default({});
export type ConsoleConfig = z.infer<typeof consoleSpec>;

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
        /**
         * Several instances share this state store and its sources (a Kafka
         * consumer group): every task is then a leased outbox row, so any
         * instance may apply it. Off (the default), one instance applies
         * everything and hands tasks to its apply stages in memory, durable as
         * one intent row per batch (much less state-store work per change); a
         * second instance started against the same state store waits as a
         * standby until the first is gone. Instances of the two kinds never
         * run together.
         */
        scaleOut: z.boolean().default(false),
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
    /**
     * `/readyz`: a stage (a source's resolve, a target's apply) with work in
     * hand that has made no progress for `stallSeconds` makes the service not
     * ready (503) until it moves again; `/healthz` (liveness) is not affected.
     */
    health: z
      .object({
        stallSeconds: z.number().min(1).default(20),
        /** How often the service re-verifies the conflict log's hash chain (the `tandem_conflict_chain_verified` gauge). */
        chainVerifyEvery: durationSpec.default('1h'),
      })
      .strict()
      .default({}),
    metrics: z
      .object({ port: z.number().int().min(0).max(65535).default(9464), host: z.string().default('127.0.0.1') })
      .strict()
      .default({}),
    log: z
      .object({
        level: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
        /** While an initial snapshot runs: a progress line per table this often (rows done of estimated, rate, ETA). */
        progressSeconds: z.number().min(1).default(5),
      })
      .strict()
      .default({}),
    console: consoleSpec,
    audit: auditSpec.optional(),
    reconcile: reconcileSpec.optional(),
  })
  .strict();

export type TandemConfig = z.infer<typeof configSpec>;
export type SystemConfig = TandemConfig['systems'][string];
