#!/usr/bin/env node
// `npm test`: runs the whole vitest suite once against real servers.
//
// If TANDEM_TEST_PG_URL, TANDEM_TEST_MYSQL_URL, TANDEM_TEST_REDIS_URL,
// TANDEM_TEST_KAFKA_BROKERS and TANDEM_TEST_KAFKA_CONNECT_URL are all set, they
// are used as they are. Otherwise scripts/services.sh starts the servers (Kafka
// and Connect through scripts/kafka.sh), their env file is read, and the servers
// this run started are stopped again at the end (also on failure or Ctrl-C).
// Extra arguments go to vitest
// (e.g. `npm test -- test/capture`). Exit code: vitest's.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const servicesSh = path.join(root, 'scripts', 'services.sh');
const envFile = path.join(root, '.tandem', 'services', 'env');
const ENV_NAMES = [
  'TANDEM_TEST_PG_URL', 'TANDEM_TEST_MYSQL_URL', 'TANDEM_TEST_REDIS_URL',
  'TANDEM_TEST_KAFKA_BROKERS', 'TANDEM_TEST_KAFKA_CONNECT_URL', // scripts/kafka.sh
];
const SERVICES = ['postgres', 'mariadb', 'redis', 'kafka'];

const say = (msg) => console.log(`[test] ${msg}`);

let current; // the child process running now
let interrupted; // signal name once we got SIGINT/SIGTERM
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = signal;
    say(`${signal} received; stopping`);
    if (current && current.exitCode === null) current.kill(signal);
  });
}

/** Runs a command, inheriting stdout/stderr; resolves with { code, stdout } (stdout captured only if asked). */
function run(cmd, args, { capture = false, env = process.env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    current = child;
    let stdout = '';
    child.stdout?.on('data', (chunk) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      current = undefined;
      resolve({ code: code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1), stdout });
    });
  });
}

function readEnvFile(file) {
  const env = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2].trim().replace(/^(['"])(.*)\1$/, '$2');
  }
  return env;
}

async function runningServices() {
  const { stdout } = await run('bash', [servicesSh, 'status'], { capture: true });
  return SERVICES.filter((s) => new RegExp(`^${s}\\s+running`, 'm').test(stdout));
}

async function main() {
  let toStop = [];
  const env = { ...process.env };
  const missing = ENV_NAMES.filter((name) => !process.env[name]);
  try {
    if (missing.length === 0) {
      say(`using the servers from ${ENV_NAMES.join(', ')}`);
    } else {
      say(`${missing.join(', ')} not set: starting the test servers (scripts/services.sh start)`);
      const before = await runningServices();
      toStop = SERVICES.filter((s) => !before.includes(s));
      const started = await run('bash', [servicesSh, 'start']);
      if (interrupted) return 130;
      if (started.code !== 0 || !existsSync(envFile)) {
        say(`could not start the test servers (scripts/services.sh start exited with ${started.code})`);
        return started.code || 1;
      }
      Object.assign(env, readEnvFile(envFile));
    }

    const reportDir = path.join(root, '.tandem');
    mkdirSync(reportDir, { recursive: true });
    const report = path.join(reportDir, `vitest-report-${process.pid}.json`);
    const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
    const args = [
      vitest, 'run', '--config', path.join(root, 'vitest.config.ts'),
      '--reporter=default', '--reporter=json', `--outputFile.json=${report}`,
      ...process.argv.slice(2),
    ];
    const started = Date.now();
    const { code } = await run(process.execPath, args, { env });
    summarise(report, code, Date.now() - started);
    rmSync(report, { force: true });
    return interrupted ? (code || 130) : code;
  } finally {
    if (toStop.length > 0) {
      say(`stopping the test servers this run started: ${toStop.join(', ')}`);
      await run('bash', [servicesSh, 'stop', ...toStop]);
    }
  }
}

function summarise(reportFile, code, ms) {
  let r;
  try {
    r = JSON.parse(readFileSync(reportFile, 'utf8'));
  } catch {
    say(`vitest exited with code ${code} and wrote no JSON report`);
    console.log('0 passed, 0 failed');
    return;
  }
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  const brokenFiles = (r.testResults ?? []).filter(
    (f) => f.status === 'failed' && (f.assertionResults ?? []).every((a) => a.status !== 'failed'),
  );
  const notes = [`${(r.testResults ?? []).length} test files`, `${(ms / 1000).toFixed(1)} s`];
  if (skipped) notes.push(`${skipped} skipped/todo`);
  say(`vitest exited with code ${code} (${notes.join(', ')})`);
  for (const f of brokenFiles) {
    const msg = String(f.message ?? '').replace(/\s+/g, ' ').trim();
    const first = msg.length > 200 ? `${msg.slice(0, 200)}…` : msg;
    say(`FAILED TO RUN: ${path.relative(root, f.name)}${first ? ` — ${first}` : ''}`);
  }
  console.log(`${r.numPassedTests ?? 0} passed, ${r.numFailedTests ?? 0} failed`);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error('[test]', error);
    process.exit(1);
  },
);
