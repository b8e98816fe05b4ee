/**
 * The type matrix through native MariaDB capture (binlog): every column type
 * of columns.ts inserted and updated in MariaDB arrives in a MariaDB target
 * with the same value and in a PostgreSQL target as the documented
 * conversion. Compared in SQL inside each target (see matrix.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { dropOrigins, memoryLogger } from '../e2e/harness';
import { flushPrefix, redisPrefix, requireEnv, TEST_ENV, uniqueName } from '../support';
import { MY_MATRIX } from './columns';
import {
  createTable, deadLetterKeys, deadLetters, expectConverged, matrixConfig, myDb, pgDb, snapshotArrived, stage, TABLE, writeSnapshotRows, writeSource, type Db,
} from './matrix';

describe('type matrix: MariaDB (native binlog) → MariaDB and PostgreSQL', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const redisUrl = requireEnv(TEST_ENV.redis);
  requireEnv(TEST_ENV.mysql);
  const origin = uniqueName('o_mx_myn');
  const keyPrefix = redisPrefix('mx-myn');
  const schema = 'tandem_mx';
  const log = memoryLogger();
  const dbs: Db[] = [];
  let pipeline: RunningPipeline | undefined;

  afterAll(async () => {
    await pipeline?.stop();
    await Promise.all(dbs.map((d) => d.db.drop()));
    await dropOrigins(adminUrl, origin);
    await flushPrefix(redisUrl, keyPrefix);
  });

  it('carries every type exactly, or as its documented conversion', { timeout: 150_000 }, async () => {
    const [src, pgdst, mydst, state] = await Promise.all([myDb('mx_myn_src'), pgDb('mx_myn_pg'), myDb('mx_myn_my'), pgDb('mx_myn_state')]);
    dbs.push(src, pgdst, mydst, state);
    await Promise.all([createTable(src, MY_MATRIX), createTable(pgdst, MY_MATRIX), createTable(mydst, MY_MATRIX)]);

    const env = { M_STATE_URL: state.db.url, M_SRC_URL: src.db.url, M_PGDST_URL: pgdst.db.url, M_MYDST_URL: mydst.db.url, M_REDIS_URL: redisUrl };
    const serverId = 300_000 + (process.pid % 50_000);
    const config = matrixConfig({
      schema, redisPrefix: keyPrefix, origin, sourceType: 'mysql',
      sourceCapture: `    capture: { serverId: ${serverId}, heartbeatMs: 200, maxBatchDelayMs: 10 }`,
      sourceTable: `${src.db.name}.${TABLE}`, myTargetTable: `${mydst.db.name}.${TABLE}`, columns: MY_MATRIX.columns,
    });
    // A copy of the rows before capture starts: read by the initial snapshot, the rest is streamed.
    await writeSnapshotRows(src, MY_MATRIX);
    pipeline = await startPipeline(parseConfig(config, '/virtual/matrix-mariadb-native.yaml', env), { env, logger: log.logger, instanceId: 'mx-myn' });

    await snapshotArrived(src.kind, [pgdst, mydst], MY_MATRIX);
    await writeSource(src, MY_MATRIX);
    await Promise.all([stage(src, pgdst, MY_MATRIX), stage(src, mydst, MY_MATRIX)]);
    const diagnostics = async () => `dead letters:\n${await deadLetters(state, schema)}\nlog:\n${log.lines.map((l) => l.slice(0, 300)).join('\n')}`;
    await expectConverged('my', [mydst, pgdst], MY_MATRIX, diagnostics);
    for (const system of ['src', 'pgdst', 'mydst']) expect(await deadLetterKeys(state, schema, system), await deadLetters(state, schema)).toEqual([]);
  });
});
