/**
 * The type matrix through native PostgreSQL capture (pgoutput): every column
 * type of columns.ts inserted and updated in PostgreSQL arrives in a
 * PostgreSQL target with the same value and in a MariaDB target as the
 * documented conversion; values MariaDB cannot hold are refused there.
 * Compared in SQL inside each target (see matrix.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { startPipeline, type RunningPipeline } from '../../src/pipeline';
import { dropOrigins, memoryLogger } from '../e2e/harness';
import { flushPrefix, redisPrefix, requireEnv, TEST_ENV, uniqueName, waitFor } from '../support';
import { PG_MATRIX } from './columns';
import {
  createTable, deadLetterKeys, deadLetters, expectConverged, matrixConfig, myDb, pgDb, snapshotArrived, stage, TABLE, writeSnapshotRows, writeSource, type Db,
} from './matrix';

describe('type matrix: PostgreSQL (native pgoutput) → PostgreSQL and MariaDB', () => {
  const adminUrl = requireEnv(TEST_ENV.pg);
  const redisUrl = requireEnv(TEST_ENV.redis);
  requireEnv(TEST_ENV.mysql);
  const slot = uniqueName('mx_pgn');
  const origin = uniqueName('o_mx_pgn');
  const keyPrefix = redisPrefix('mx-pgn');
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
    const [src, pgdst, mydst, state] = await Promise.all([pgDb('mx_pgn_src'), pgDb('mx_pgn_pg'), myDb('mx_pgn_my'), pgDb('mx_pgn_state')]);
    dbs.push(src, pgdst, mydst, state);
    await Promise.all([createTable(src, PG_MATRIX), createTable(pgdst, PG_MATRIX), createTable(mydst, PG_MATRIX)]);

    const env = { M_STATE_URL: state.db.url, M_SRC_URL: src.db.url, M_PGDST_URL: pgdst.db.url, M_MYDST_URL: mydst.db.url, M_REDIS_URL: redisUrl };
    const config = matrixConfig({
      schema, redisPrefix: keyPrefix, origin, sourceType: 'postgres',
      sourceCapture: `    capture: { slot: ${slot}, publication: ${slot}, heartbeatMs: 200, maxBatchDelayMs: 10 }`,
      sourceTable: `public.${TABLE}`, myTargetTable: `${mydst.db.name}.${TABLE}`, columns: PG_MATRIX.columns,
    });
    // A copy of the rows before capture starts: read by the initial snapshot, the rest is streamed.
    await writeSnapshotRows(src, PG_MATRIX);
    pipeline = await startPipeline(parseConfig(config, '/virtual/matrix-pg-native.yaml', env), { env, logger: log.logger, instanceId: 'mx-pgn' });

    await snapshotArrived(src.kind, [pgdst, mydst], PG_MATRIX);
    await writeSource(src, PG_MATRIX);
    const [toPg, toMy] = await Promise.all([stage(src, pgdst, PG_MATRIX), stage(src, mydst, PG_MATRIX)]);
    const diagnostics = async () => `dead letters:\n${await deadLetters(state, schema)}\nlog:\n${log.lines.map((l) => l.slice(0, 300)).join('\n')}`;
    await expectConverged('pg', [pgdst, mydst], PG_MATRIX, diagnostics);

    expect(toPg.rejectedIds).toEqual([]);
    expect(await deadLetterKeys(state, schema, 'pgdst')).toEqual([]);
    const refused = toMy.rejectedIds.map((id) => `src:${id}:APPLY_REJECTED`).sort();
    expect(refused.length).toBeGreaterThan(0);
    await waitFor(async () => (await deadLetterKeys(state, schema, 'mydst')).length >= refused.length, { timeoutMs: 20_000 }).catch(() => undefined);
    expect((await deadLetterKeys(state, schema, 'mydst')).sort(), await deadLetters(state, schema)).toEqual(refused);
    expect(await deadLetterKeys(state, schema, 'src')).toEqual([]);
  });
});
