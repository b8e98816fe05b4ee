/**
 * MySQL/MariaDB server checks for native binlog capture: the binary log in
 * ROW format with full row images (MariaDB: full row metadata), a user that
 * may read it as a replica, a replica server id of its own; and, where
 * `apply.echoServerId` is set, the right to set a session server id.
 */
import type { MysqlCaptureConfig, TandemConfig } from '../config';
import type { CatalogDb } from './catalog-db';
import { findingsFor, type PreflightFinding } from './finding';

interface ServerVariables {
  version: string;
  log_bin: number | string;
  binlog_format: string;
  row_image: string;
  server_id: number | string;
  user_name: string;
}

export async function mysqlFindings(db: CatalogDb, config: TandemConfig, system: string): Promise<PreflightFinding[]> {
  const spec = config.systems[system]!;
  const finding = findingsFor(system);
  const out: PreflightFinding[] = [];
  const [vars] = await db.query<ServerVariables>(`SELECT VERSION() AS version, @@GLOBAL.log_bin AS log_bin, @@GLOBAL.binlog_format AS binlog_format,
    @@GLOBAL.binlog_row_image AS row_image, @@GLOBAL.server_id AS server_id, CURRENT_USER() AS user_name`);
  if (!vars) return out;
  const user = vars.user_name;
  if (spec.capture) {
    const capture = spec.capture as MysqlCaptureConfig;
    const setting = (name: string, value: string, wanted: string) => {
      if (String(value).toUpperCase() !== wanted) {
        out.push(finding('error', 'binlog', null, `${name} is ${value}: native capture needs ${wanted}`, `set ${name}=${wanted} in the server configuration (my.cnf) and restart, or SET GLOBAL ${name} = '${wanted}'`));
      }
    };
    if (Number(vars.log_bin) !== 1) {
      out.push(finding('error', 'binlog', null, 'the binary log is off (log_bin): native capture reads it', 'start the server with log_bin (and a server_id) set'));
    }
    setting('binlog_format', vars.binlog_format, 'ROW');
    setting('binlog_row_image', vars.row_image, 'FULL');
    if (/mariadb/i.test(vars.version)) {
      const metadata = await db.query<{ value: string }>('SELECT @@GLOBAL.binlog_row_metadata AS value').catch(() => []);
      if (metadata[0]) setting('binlog_row_metadata', metadata[0].value, 'FULL');
    }
    if (Number(vars.server_id) === capture.serverId) {
      out.push(finding('error', 'binlog', null, `capture.serverId ${capture.serverId} is the server's own server_id: the server would refuse the replica connection`,
        `choose a capture.serverId no server or replica uses`));
    }
    const grants = await grantsOf(db);
    const has = (pattern: RegExp) => grants.some((g) => / ON \*\.\* /i.test(g) && (/ALL PRIVILEGES/i.test(g) || pattern.test(g)));
    if (!has(/REPLICATION SLAVE|REPLICATION REPLICA/i)) {
      out.push(finding('error', 'privilege', null, `${user} lacks REPLICATION SLAVE: it cannot read the binlog`, `GRANT REPLICATION SLAVE ON *.* TO ${user}`));
    }
    if (!has(/REPLICATION CLIENT|BINLOG MONITOR|SUPER/i)) {
      out.push(finding('error', 'privilege', null, `${user} lacks REPLICATION CLIENT (MariaDB 10.5+: BINLOG MONITOR): it cannot ask for the binlog position`, `GRANT REPLICATION CLIENT ON *.* TO ${user}`));
    }
  }
  if (spec.apply.echoServerId !== undefined) {
    // The only sure test of this right is to use it, on this throwaway connection.
    const refused = await db.query('SET SESSION server_id = @@GLOBAL.server_id').then(() => null, (error: Error) => error.message);
    if (refused) {
      out.push(finding('error', 'privilege', null, `apply.echoServerId is set but ${user} may not set its session server_id (${refused})`,
        `GRANT BINLOG REPLAY ON *.* TO ${user} (MariaDB 10.5.2 and later; SUPER before), or remove apply.echoServerId`));
    }
  }
  return out;
}

/** The user's grants, as text. Never printed: a grant line can carry a password hash. */
async function grantsOf(db: CatalogDb): Promise<string[]> {
  const rows = await db.query<Record<string, string>>('SHOW GRANTS');
  return rows.map((row) => String(Object.values(row)[0] ?? ''));
}
