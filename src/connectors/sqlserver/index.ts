/** SQL Server: native capture by polling the CDC change tables, SQL apply, Debezium's `sqlserver` connector. */
import { createSqlServerSource } from '../../capture';
import { sqlServerFindings, sqlSystemPreflight } from '../../preflight';
import { loadCheckpoints, snapshottedTables } from '../../store';
import { checkpointLag, sqlTarget } from '../sql';
import type { Connector } from '../types';
import { sqlserverCapture, type SqlserverCaptureConfig } from './schema';

export { sqlserverCapture, type SqlserverCaptureConfig } from './schema';

export const sqlserver: Connector = {
  type: 'sqlserver',
  label: 'SQL Server',
  dialect: 'sqlserver',
  config: { capture: sqlserverCapture },
  // Topics and tables named without a schema take `public`, as they always have (SQL Server's default is dbo: name it).
  debezium: { connectors: ['sqlserver'], databaseIsSchema: false, defaultSchema: 'public' },
  source: ({ config, system, spec, registry, store, url, log, onSnapshotPlanned }) => {
    const capture = spec.capture as SqlserverCaptureConfig;
    return async () => {
      const mappings = registry.all().filter((m) => m.system === system);
      const checkpoint = (await loadCheckpoints(store, config.stateStore.schema)).find((c) => c.system === system);
      return createSqlServerSource({
        system,
        connectionString: url(),
        tables: registry.tablesOf(system),
        // Every mapped column must be captured (a column added after the capture instance is not).
        columns: Object.fromEntries(mappings.map((m) => [m.table, [...new Set([...m.keyColumns, ...m.fields.map((f) => f.column)])]])),
        captureInstances: capture.captureInstances,
        pollIntervalMs: capture.pollIntervalMs,
        snapshot: capture.snapshot,
        maxBatchEvents: capture.maxBatchEvents,
        startPosition: checkpoint?.position ?? null,
        snapshotted: await snapshottedTables(store, config.stateStore.schema, system),
        onSnapshotPlanned,
        log,
      });
    };
  },
  target: (ctx) => sqlTarget(ctx, 'sqlserver'),
  preflight: ({ config, system, url, timeoutMs, tables }) =>
    sqlSystemPreflight(system, 'sqlserver', url, timeoutMs, tables, (db) => sqlServerFindings(db, config, system, tables)),
  status: async ({ checkpoint }) => ({ lagSeconds: checkpointLag(checkpoint), retainedLog: 'n/a' }),
  // CDC change tables are polled: there is no log position to mark, drain relies on the outbox.
};
