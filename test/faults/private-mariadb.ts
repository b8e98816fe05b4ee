/**
 * A MariaDB server of the test's own (Debian's mariadb-server), with the
 * binary log set up for capture, on a free loopback port, that the test may
 * stop and start again with its data: the shared test server must never be
 * restarted.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { freePort } from '../../src/demo/embedded';
import { waitFor } from '../support';

export interface PrivateMariadb {
  /** `mysql://tandem:tandem@127.0.0.1:<port>/<database>` */
  urlOf(database: string): string;
  /** SIGTERM: a clean shutdown, data and binlog kept. */
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startPrivateMariadb(databases: string[]): Promise<PrivateMariadb> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tandem-mariadb-'));
  const user = userInfo().uid === 0 ? 'mysql' : userInfo().username;
  const port = await freePort();
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'mariadb.sock');
  const cnf = path.join(dir, 'my.cnf');
  writeFileSync(cnf, `[mariadbd]
user = ${user}
datadir = ${data}
socket = ${socket}
port = ${port}
bind-address = 127.0.0.1
skip-name-resolve
log-error = ${path.join(dir, 'error.log')}
server_id = 1
log-bin = ${data}/binlog
binlog_format = ROW
binlog_row_image = FULL
binlog_row_metadata = FULL
innodb_buffer_pool_size = 32M
innodb_flush_log_at_trx_commit = 2
performance_schema = OFF
`);
  if (user === 'mysql') {
    const uid = Number(execFileSync('id', ['-u', 'mysql'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'mysql'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  execFileSync('mariadb-install-db', [`--defaults-file=${cnf}`, `--user=${user}`, `--datadir=${data}`, '--skip-test-db',
    '--auth-root-authentication-method=socket', `--auth-root-socket-user=${userInfo().username}`], { stdio: 'ignore' });

  let child: ChildProcess | null = null;
  const urlOf = (database: string) => `mysql://tandem:tandem@127.0.0.1:${port}/${database}`;
  const answers = async () => {
    const conn = await mysql.createConnection({ socketPath: socket, user: userInfo().username }).catch(() => null);
    if (!conn) return false;
    await conn.end();
    return true;
  };
  async function start(): Promise<void> {
    child = spawn('mariadbd', [`--defaults-file=${cnf}`], { stdio: 'ignore' });
    await waitFor(answers, { timeoutMs: 60_000, intervalMs: 100, message: `private mariadbd on port ${port} did not start (log ${dir}/error.log)` });
  }
  async function stop(): Promise<void> {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGTERM');
    await exited;
  }

  await start();
  const root = await mysql.createConnection({ socketPath: socket, user: userInfo().username, multipleStatements: true });
  try {
    await root.query(`CREATE USER 'tandem'@'%' IDENTIFIED BY 'tandem'; GRANT ALL PRIVILEGES ON *.* TO 'tandem'@'%' WITH GRANT OPTION;`);
    for (const db of databases) await root.query(`CREATE DATABASE \`${db}\``);
  } finally {
    await root.end();
  }
  return { urlOf, stop, start, async destroy() { await stop(); rmSync(dir, { recursive: true, force: true }); } };
}
