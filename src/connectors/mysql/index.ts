/** MySQL and MariaDB: native capture from the row-based binlog, SQL apply, Debezium's `mysql` and `mariadb` connectors. */
import { createMysqlSource, emitMysqlMark } from '../../capture';
import { loadCheckpoints, snapshottedTables } from '../../store';
import { warnIfBatchDelaySet } from '../batch-delay';
import { checkpointLag, sqlTarget } from '../sql';
import type { Connector } from '../types';
import { mysqlCapture, type MysqlCaptureConfig } from './schema';

export { mysqlCapture, type MysqlCaptureConfig } from './schema';

export const mysql: Connector = {
  type: 'mysql',
  label: 'MySQL/MariaDB',
  dialect: 'mysql',
  config: {
    capture: mysqlCapture,
    echoServerId: true,
    check: (system, capture) => {
      const serverId = (capture as MysqlCaptureConfig | undefined)?.serverId;
      return system.apply.echoServerId !== undefined && system.apply.echoServerId === serverId
        ? [{ path: ['apply', 'echoServerId'], message: 'echoServerId must differ from capture.serverId (the replica id tandem reads the binlog with)' }]
        : [];
    },
  },
  debezium: { connectors: ['mysql', 'mariadb'], databaseIsSchema: true, defaultSchema: '' },
  source: ({ config, system, spec, registry, store, url, log, onSnapshotPlanned }) => {
    const capture = spec.capture as MysqlCaptureConfig;
    warnIfBatchDelaySet(capture, system, log);
    const schema = config.stateStore.schema;
    return async () => createMysqlSource({
      system,
      connectionString: url(),
      serverId: capture.serverId,
      // tandem's own writes to this system carry this server id: their events are marked with its origin.
      echo: spec.apply.echoServerId === undefined ? undefined : { serverId: spec.apply.echoServerId, origin: spec.apply.origin },
      tables: registry.tablesOf(system),
      heartbeatMs: capture.heartbeatMs,
      snapshot: capture.snapshot,
      maxBatchEvents: capture.maxBatchEvents,
      captureBufferBytes: config.pipeline.captureBufferBytes,
      snapshotted: await snapshottedTables(store, schema, system),
      // The binlog source keeps no state on the server: it resumes from the pipeline's checkpoint.
      startPosition: (await loadCheckpoints(store, schema)).find((c) => c.system === system)?.position ?? null,
      onSnapshotPlanned,
      log,
    });
  },
  target: (ctx) => sqlTarget(ctx, 'mysql'),
  // preflight and compare are loaded when used: they consult the registry, which holds this connector.
  preflight: async ({ config, system, url, timeoutMs, tables }) => {
    const { mysqlFindings, sqlSystemPreflight } = await import('../../preflight');
    return sqlSystemPreflight(system, 'mysql', url, timeoutMs, tables, (db) => mysqlFindings(db, config, system));
  },
  status: async ({ checkpoint }) => ({ lagSeconds: checkpointLag(checkpoint), retainedLog: 'n/a' }),
  drainMark: ({ url }) => {
    const at = url();
    return emitMysqlMark(at, decodeURIComponent(new URL(at).pathname.slice(1)));
  },
  compareReader: async (system, mapping, url) => {
    const { MysqlTableReader } = await import('../../compare');
    return MysqlTableReader.open(system, mapping, url);
  },
};
