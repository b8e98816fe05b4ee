/** PostgreSQL: native capture with logical replication (pgoutput), SQL apply, Debezium's `postgresql` connector. */
import { createPostgresSource } from '../../capture';
import { snapshottedTables } from '../../store';
import { warnIfBatchDelaySet } from '../batch-delay';
import { checkpointLag, sqlTarget } from '../sql';
import type { Connector } from '../types';
import { emitPostgresMark, slotRetainedBytes } from './log-position';
import { postgresCapture, type PostgresCaptureConfig } from './schema';

export { postgresCapture, type PostgresCaptureConfig } from './schema';

export const postgres: Connector = {
  type: 'postgres',
  label: 'PostgreSQL',
  dialect: 'postgres',
  config: { capture: postgresCapture },
  debezium: { connectors: ['postgresql'], databaseIsSchema: false, defaultSchema: 'public' },
  source: ({ config, system, spec, registry, store, url, log, onSnapshotPlanned }) => {
    const capture = spec.capture as PostgresCaptureConfig;
    warnIfBatchDelaySet(capture, system, log);
    return async () => createPostgresSource({
      system,
      connectionString: url(),
      slot: capture.slot,
      publication: capture.publication,
      tables: registry.tablesOf(system),
      heartbeatMs: capture.heartbeatMs,
      statusIntervalMs: capture.statusIntervalMs,
      snapshot: capture.snapshot,
      maxBatchEvents: capture.maxBatchEvents,
      captureBufferBytes: config.pipeline.captureBufferBytes,
      snapshotted: await snapshottedTables(store, config.stateStore.schema, system),
      onSnapshotPlanned,
      log,
    });
  },
  target: (ctx) => sqlTarget(ctx, 'postgres'),
  // preflight and compare are loaded when used: they consult the registry, which holds this connector.
  preflight: async ({ config, system, url, timeoutMs, tables }) => {
    const { postgresFindings, sqlSystemPreflight } = await import('../../preflight');
    return sqlSystemPreflight(system, 'postgres', url, timeoutMs, tables, (db) => postgresFindings(db, config, system, tables));
  },
  status: async ({ spec, url, checkpoint }) => {
    const lagSeconds = checkpointLag(checkpoint);
    // Only native capture keeps a slot (Debezium's connector keeps its own).
    if (!spec.capture) return { lagSeconds, retainedLog: 'n/a' };
    const slot = (spec.capture as PostgresCaptureConfig).slot;
    const retained = await slotRetainedBytes(url(), slot).catch((e: Error) => `error: ${e.message}`);
    return { lagSeconds, retainedLog: retained ?? 'no slot' };
  },
  drainMark: ({ url }) => emitPostgresMark(url()),
  compareReader: async (system, mapping, url) => {
    const { PgTableReader } = await import('../../compare');
    return PgTableReader.open(system, mapping, url);
  },
};
