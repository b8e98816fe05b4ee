/**
 * REST target throughput against the SaaS-like test server: requests/s
 * achieved through RestTarget.applyBatch (creates, then updates by id) versus
 * the server's own limit. In-memory crosswalk; no database. Not part of the
 * test suite.
 *
 *   npx tsx bench/rest.ts [tasks]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { RestTarget, type ApplyTask } from '../src/apply';
import { mappingSpec } from '../src/config/spec';
import { compileMapping } from '../src/transform';
import { MemoryCrosswalk } from '../test/apply/helpers';
import { SaasServer } from '../test/support/saas-server';

const TASKS = Number(process.argv[2] ?? 3000);
const CHUNK = 100;
const CONCURRENCY = 8;

const mapping = compileMapping(mappingSpec.parse({
  system: 'saas', table: 'accounts', entity: 'customer', key: { columns: ['id'], generated: 'database' },
  fields: { name: 'name', email: 'contact.email', credit_limit: 'credit.limit' },
}));

interface Scenario {
  name: string;
  serverLimit: number;
  clientLimit?: number;
  tasks: number;
}

let seq = 0;
function task(key: string, fields: Record<string, string>): ApplyTask {
  seq += 1;
  return { id: `b${seq}`, target: 'saas', entity: 'customer', key, op: 'upsert', fields, expected: {}, record: fields, reason: 'propagate', correlationId: `crm@${seq}`, attempts: 0, createdAtMs: Date.now() };
}

async function run(s: Scenario) {
  const server = await SaasServer.start();
  server.limit(s.serverLimit);
  const target = new RestTarget({
    system: 'saas', baseUrl: server.url, auth: { kind: 'none' }, timeoutMs: 10_000,
    rateLimitPerSecond: s.clientLimit, circuitBreaker: { failureThreshold: 1000, resetMs: 1000 }, concurrency: CONCURRENCY,
    endpoints: { customer: { create: { method: 'POST', path: '/accounts' }, update: { method: 'PATCH', path: '/accounts/{id}' }, idField: 'id' } },
  });
  const crosswalk = new MemoryCrosswalk();
  const ctx = { mapping, crosswalk, refMappings: () => undefined };
  let pending = [
    ...Array.from({ length: s.tasks / 2 }, (_, i) => task(`k${i}`, { name: `n${i}`, email: `e${i}@x.test`, credit_limit: '10.00' })),
  ];
  const updates = Array.from({ length: s.tasks / 2 }, (_, i) => task(`k${i}`, { name: `n${i}-v2` }));
  const started = performance.now();
  let retried = 0;
  for (const phase of [pending, updates]) {
    pending = phase;
    while (pending.length > 0) {
      const chunks: ApplyTask[][] = [];
      for (let i = 0; i < pending.length; i += CHUNK) chunks.push(pending.slice(i, i + CHUNK));
      const again: ApplyTask[] = [];
      let delay = 0;
      await Promise.all(chunks.map(async (c) => {
        for (const r of await target.applyBatch(c, ctx)) {
          if (r.error) {
            again.push({ ...r.task, attempts: r.task.attempts + 1 });
            delay = Math.max(delay, (r.error as { retryAfterMs?: number }).retryAfterMs ?? 50);
          }
        }
      }));
      retried += again.length;
      pending = again;
      if (again.length) await new Promise((r) => setTimeout(r, delay));
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const result = {
    scenario: s.name, tasks: s.tasks, seconds: Number(seconds.toFixed(2)),
    tasksPerSecond: Math.round(s.tasks / seconds), requestsPerSecond: Math.round(server.apiRequests.length / seconds),
    serverLimit: s.serverLimit || null, clientLimit: s.clientLimit ?? null,
    requests: server.apiRequests.length, rejected429: server.apiRequests.filter((r) => r.status === 429).length, retried,
    maxPerSecondSeenByServer: server.maxPerSecond(),
  };
  await server.close();
  return result;
}

const scenarios: Scenario[] = [
  { name: 'unthrottled (no limits)', serverLimit: 0, tasks: TASKS },
  { name: 'server limit 200/s, no client limit (429 + Retry-After)', serverLimit: 200, tasks: Math.min(TASKS, 1000) },
  { name: 'server limit 200/s, client rateLimitPerSecond 190', serverLimit: 200, clientLimit: 190, tasks: Math.min(TASKS, 1000) },
];
const results = [];
for (const s of scenarios) {
  const r = await run(s);
  results.push(r);
  console.log(`${r.scenario.padEnd(55)} ${String(r.tasksPerSecond).padStart(6)} tasks/s ${String(r.requestsPerSecond).padStart(6)} req/s  (limit ${r.serverLimit ?? '—'}; server saw ≤ ${r.maxPerSecondSeenByServer}/s; 429s ${r.rejected429}; ${r.tasks} tasks in ${r.seconds}s)`);
}
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/rest-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}.json`;
writeFileSync(file, `${JSON.stringify({ node: process.version, concurrency: CONCURRENCY, chunk: CHUNK, results }, null, 2)}\n`);
console.log(`saved ${file}`);
