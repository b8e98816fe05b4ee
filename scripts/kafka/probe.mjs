#!/usr/bin/env node
// Readiness probes for scripts/kafka.sh. Exit 0 when ready, 1 (with a reason on stderr) when not.
//   node scripts/kafka/probe.mjs broker 127.0.0.1:19092
//       the broker answers a metadata request (kafkajs admin describeCluster)
//   node scripts/kafka/probe.mjs connect http://127.0.0.1:18083 <connector class>...
//       GET /connector-plugins answers and lists every class given
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const [what, target, ...classes] = process.argv.slice(2);

async function broker(brokers) {
  const kafka = new Kafka({
    clientId: 'tandem-probe',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 3000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('no brokers in the cluster metadata');
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function connect(url, wanted) {
  const res = await fetch(new URL('/connector-plugins', url), { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`GET /connector-plugins: HTTP ${res.status}`);
  const plugins = (await res.json()).map((p) => p.class);
  const missing = wanted.filter((c) => !plugins.includes(c));
  if (missing.length > 0) throw new Error(`connector plugins missing: ${missing.join(', ')} (listed: ${plugins.join(', ')})`);
}

try {
  if (what === 'broker' && target) await broker(target);
  else if (what === 'connect' && target) await connect(target, classes);
  else {
    console.error('usage: probe.mjs broker <host:port> | connect <url> [class...]');
    process.exit(2);
  }
  process.exit(0);
} catch (error) {
  console.error(`[kafka probe] ${what} ${target}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
