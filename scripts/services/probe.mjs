// Exit 0 when the server behind a URL answers a trivial query, 1 otherwise.
//   node scripts/services/probe.mjs pg|mysql|redis <url>
const [kind, url] = process.argv.slice(2);

async function probe() {
  if (kind === 'pg') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    await client.connect();
    try {
      await client.query('SELECT 1');
    } finally {
      await client.end();
    }
  } else if (kind === 'mysql') {
    const mysql = await import('mysql2/promise');
    const conn = await mysql.createConnection({ uri: url, connectTimeout: 3000 });
    try {
      await conn.query('SELECT 1');
    } finally {
      await conn.end();
    }
  } else if (kind === 'redis') {
    const { Redis } = await import('ioredis');
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });
    try {
      await redis.connect();
      if ((await redis.ping()) !== 'PONG') throw new Error('no PONG');
    } finally {
      redis.disconnect();
    }
  } else {
    throw new Error(`usage: probe.mjs pg|mysql|redis <url> (got ${kind})`);
  }
}

probe().then(
  () => process.exit(0),
  (error) => {
    console.error(`${kind} ${url}: ${error?.message ?? error}`);
    process.exit(1);
  },
);
