#!/usr/bin/env node
// Registers (creates or updates) every connector in a directory of JSON files
// with a Kafka Connect worker, then waits until each one and its tasks run.
// The connect-init service of docker/compose.debezium.yaml runs it once; it
// works the same against any Connect deployment:
//
//   CONNECT_URL=http://localhost:8083 node docker/register-connectors.mjs docker/connectors
//
// Each file is { "name": …, "config": { … } } (the body of POST /connectors).
// PUT /connectors/<name>/config makes this idempotent: run it again after a
// change and the connector is reconfigured, not duplicated.
// Env: CONNECT_URL (default http://connect:8083), CONNECT_TIMEOUT_S (default 300),
// CONNECT_POLL_MS (default 2000).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const url = (process.env.CONNECT_URL ?? 'http://connect:8083').replace(/\/$/, '');
const dir = process.argv[2] ?? '/connectors';
const deadline = Date.now() + Number(process.env.CONNECT_TIMEOUT_S ?? 300) * 1000;
const pollMs = Number(process.env.CONNECT_POLL_MS ?? 2000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => console.log(`[connect-init] ${msg}`);

async function call(method, path, body) {
  const res = await fetch(url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function until(what, fn) {
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) {
      if (error?.fatal) throw error; // not yet, unless it failed for good
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}

const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
if (files.length === 0) throw new Error(`no connector JSON in ${dir}`);
const connectors = files.map((f) => {
  const spec = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  if (!spec.name || !spec.config?.['connector.class']) throw new Error(`${f}: needs "name" and "config"."connector.class"`);
  return spec;
});

log(`waiting for Kafka Connect at ${url}`);
const plugins = await until('the Connect REST API', async () => {
  const res = await call('GET', '/connector-plugins');
  return res.status === 200 ? res.body.map((p) => p.class) : null;
});
for (const { name, config } of connectors) {
  if (!plugins.includes(config['connector.class'])) throw new Error(`${name}: Connect has no plugin ${config['connector.class']} (it has: ${plugins.join(', ')})`);
  // 409 while the worker group rebalances: try again.
  const res = await until(`PUT ${name}`, async () => {
    const r = await call('PUT', `/connectors/${encodeURIComponent(name)}/config`, { ...config, name });
    if (r.status === 409) return null;
    return r;
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`${name}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  log(`${name}: ${res.status === 201 ? 'created' : 'updated'} (${config['connector.class']}, topic.prefix ${config['topic.prefix']})`);
}
for (const { name } of connectors) {
  await until(`${name} to run`, async () => {
    const { status, body } = await call('GET', `/connectors/${encodeURIComponent(name)}/status`);
    if (status !== 200) return false;
    const failed = [body.connector, ...body.tasks].find((s) => s.state === 'FAILED');
    if (failed) throw Object.assign(new Error(`${name} FAILED: ${failed.trace?.split('\n')[0] ?? ''}`), { fatal: true });
    return body.connector.state === 'RUNNING' && body.tasks.length > 0 && body.tasks.every((t) => t.state === 'RUNNING');
  });
  log(`${name}: RUNNING`);
}
log('all connectors registered and running');
