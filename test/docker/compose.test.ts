import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { crmSchemaSql, erpSchemaSql } from '../../src/demo/schema';
import { EXACT_SETTINGS } from '../types/debezium-settings';

// docker/ cannot be run here (no Docker engine), so check what can be checked:
// the files it names exist, the config it runs is valid and in step with the demo's.
const dockerDir = resolve(import.meta.dirname, '../../docker');
const read = (name: string) => readFileSync(resolve(dockerDir, name), 'utf8');

interface Service { volumes?: string[]; command?: string[]; environment?: Record<string, string>; depends_on?: Record<string, unknown>; build?: { dockerfile: string; context: string } }

describe('docker/compose.yaml', () => {
  const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, Service>; secrets: Record<string, { file: string }> };

  it('has the databases, Redis and tandem, with logical decoding on the captured databases', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['crm-db', 'erp-db', 'grafana', 'prometheus', 'redis', 'state-db', 'tandem']);
    for (const name of ['erp-db', 'crm-db']) expect(compose.services[name]!.command).toContain('wal_level=logical');
    expect(Object.keys(compose.services.tandem!.depends_on!).sort()).toEqual(['crm-db', 'erp-db', 'redis', 'state-db']);
  });

  it('mounts only files that exist', () => {
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) expect(existsSync(resolve(dockerDir, volume.split(':')[0]!)), volume).toBe(true);
    }
    for (const secret of Object.values(compose.secrets)) expect(existsSync(resolve(dockerDir, secret.file))).toBe(true);
    expect(existsSync(resolve(dockerDir, '..', compose.services.tandem!.build!.dockerfile))).toBe(true);
  });

  it('initialises the databases with the demo schema, as generated', () => {
    expect(read('init/erp.sql')).toContain(erpSchemaSql());
    expect(read('init/crm.sql')).toContain(crmSchemaSql());
  });

  it('runs a valid configuration that differs from config/demo.yaml only by using Redis', () => {
    const env = { TANDEM_STATE_URL: 'x', ERP_DATABASE_URL: 'x', CRM_DATABASE_URL: 'x', TANDEM_REDIS_URL: 'x' };
    const docker = parseConfig(read('tandem.yaml'), 'docker/tandem.yaml', env).config;
    const demoFile = resolve(dirname(dockerDir), 'config/demo.yaml');
    const demo = parseConfig(readFileSync(demoFile, 'utf8'), demoFile, env).config;
    expect(docker.redis).toEqual({ url: { env: 'TANDEM_REDIS_URL' }, keyPrefix: 'tandem:' });
    expect({ ...docker, redis: undefined, pipeline: { ...docker.pipeline, allowNoRedis: true } }).toEqual({ ...demo, redis: undefined });
  });

  it('keeps secrets out of the compose file: URLs are built from the password secret', () => {
    const text = read('compose.yaml');
    expect(text).not.toMatch(/postgres(ql)?:\/\/[^$\s]*:[^@$\s]+@/);
    expect(read('tandem-env.sh')).toContain('/run/secrets/db_password');
  });
});

// --- docker/compose.debezium.yaml: Kafka, Connect + Debezium, three databases, tandem ---

interface DebeziumService extends Service {
  image?: string;
  entrypoint?: string[];
  secrets?: string[];
}

const root = dirname(dockerDir);
const readRoot = (name: string) => readFileSync(resolve(root, name), 'utf8');

/** `./file:/in/container[:ro]` → the host path, when it is a bind mount of a file or directory here. */
const bindSource = (volume: string) => (volume.startsWith('.') ? volume.split(':')[0]! : null);

/** Connector classes the integration tests register or require Connect to load (test/kafka, scripts/kafka.sh). */
function connectorClassesOfTests(): Set<string> {
  const classes = new Set<string>();
  const testDir = resolve(root, 'test/kafka');
  for (const file of readdirSync(testDir).filter((f) => f.endsWith('.ts'))) {
    for (const m of readFileSync(resolve(testDir, file), 'utf8').matchAll(/'connector\.class':\s*'([\w.]+)'/g)) classes.add(m[1]!);
  }
  const plugins = /^PLUGINS=\(([^)]*)\)/m.exec(readRoot('scripts/kafka.sh'));
  for (const c of plugins?.[1]?.split(/\s+/).filter(Boolean) ?? []) classes.add(c);
  return classes;
}

const SQLSERVER_CONNECTOR = 'io.debezium.connector.sqlserver.SqlServerConnector';
/** Debezium connector class → tandem's `debezium.connector`. */
const CONNECTOR_KIND: Record<string, string> = {
  'io.debezium.connector.postgresql.PostgresConnector': 'postgresql',
  'io.debezium.connector.mysql.MySqlConnector': 'mysql',
  'io.debezium.connector.mariadb.MariaDbConnector': 'mariadb',
  [SQLSERVER_CONNECTOR]: 'sqlserver',
};

interface ConnectorFile { file: string; name: string; config: Record<string, string> }

function connectorFiles(): ConnectorFile[] {
  const dir = resolve(dockerDir, 'connectors');
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((file) => {
    const spec = JSON.parse(readFileSync(resolve(dir, file), 'utf8')) as { name: string; config: Record<string, string> };
    return { file, name: spec.name, config: spec.config };
  });
}

const DEBEZIUM_ENV = { TANDEM_STATE_URL: 'x', ERP_DATABASE_URL: 'x', CRM_DATABASE_URL: 'x', WMS_DATABASE_URL: 'x', TANDEM_REDIS_URL: 'x' };

describe('docker/compose.debezium.yaml', () => {
  const compose = parse(read('compose.debezium.yaml'), { merge: true }) as {
    services: Record<string, DebeziumService>;
    secrets: Record<string, { file: string }>;
    volumes?: Record<string, unknown>;
  };
  const s = (name: string) => compose.services[name]!;
  const pom = readRoot('scripts/kafka/pom.xml');
  const pomVersion = (property: string) => new RegExp(`<${property}>([^<]+)</${property}>`).exec(pom)![1]!;
  const config = parseConfig(read('tandem-debezium.yaml'), 'docker/tandem-debezium.yaml', DEBEZIUM_ENV).config;
  const connectors = connectorFiles();

  it('has Kafka, Connect and its init, the three databases, the state store, Redis and tandem', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['connect', 'connect-init', 'crm-db', 'erp-db', 'kafka', 'mssql', 'mssql-init', 'redis', 'state-db', 'tandem'],
    );
    expect(Object.keys(s('tandem').depends_on!).sort()).toEqual(
      ['connect-init', 'crm-db', 'erp-db', 'kafka', 'mssql-init', 'redis', 'state-db'],
    );
    expect((s('tandem').depends_on!['connect-init'] as { condition: string }).condition).toBe('service_completed_successfully');
  });

  it('runs the Kafka and Debezium versions the tests run (scripts/kafka/pom.xml)', () => {
    const kafka = pomVersion('kafka.version');
    expect(s('kafka').image).toBe(`apache/kafka:${kafka}`);
    expect(s('kafka').environment!.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(s('connect').image).toBe(`quay.io/debezium/connect:${pomVersion('debezium.version')}`);
    expect(s('mssql').image).toMatch(/^mcr\.microsoft\.com\/mssql\/server:2022-/);
    expect(s('crm-db').image).toBe('mariadb:10.11');
  });

  it('turns change capture on in every source database', () => {
    expect(s('erp-db').command).toContain('wal_level=logical');
    expect(s('crm-db').command).toEqual(expect.arrayContaining(['--binlog-format=ROW', '--binlog-row-image=FULL']));
    expect(s('crm-db').command!.some((c) => c.startsWith('--log-bin'))).toBe(true);
    expect(s('mssql').environment!.MSSQL_AGENT_ENABLED).toBe('true');
    const wmsSql = read('init-debezium/wms-sqlserver.sql');
    expect(wmsSql).toContain('sys.sp_cdc_enable_db');
    // every table the SQL Server connector reads has CDC enabled
    const wms = connectors.find((c) => c.config['connector.class'] === SQLSERVER_CONNECTOR)!;
    for (const table of wms.config['table.include.list']!.split(',')) {
      const [schema, name] = table.split('.');
      expect(wmsSql).toMatch(new RegExp(`sp_cdc_enable_table @source_schema = '${schema}', @source_name = '${name}'`));
    }
  });

  it('mounts only files that exist', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = bindSource(volume);
        if (source === null) expect(Object.keys(compose.volumes ?? {}), `${name}: ${volume}`).toContain(volume.split(':')[0]);
        else expect(existsSync(resolve(dockerDir, source)), `${name}: ${volume}`).toBe(true);
      }
      for (const secret of service.secrets ?? []) expect(Object.keys(compose.secrets), `${name}: secret ${secret}`).toContain(secret);
    }
    for (const secret of Object.values(compose.secrets)) expect(existsSync(resolve(dockerDir, secret.file))).toBe(true);
    expect(existsSync(resolve(root, s('tandem').build!.dockerfile))).toBe(true);
    // entrypoints run scripts this stack mounts
    for (const name of ['connect', 'mssql', 'mssql-init', 'tandem']) {
      const script = s(name).entrypoint!.at(-1)!;
      expect(s(name).volumes!.some((v) => v.split(':')[1] === script), `${name}: ${script}`).toBe(true);
    }
    expect(s('connect-init').volumes).toContain('./connectors:/connectors:ro');
  });

  it('has connector JSON that parses, uses the connectors and settings of the tests, and reaches the compose services', () => {
    const testClasses = connectorClassesOfTests();
    expect(testClasses).toContain('io.debezium.connector.postgresql.PostgresConnector');
    expect(connectors.map((c) => c.config['connector.class']).sort()).toEqual([
      'io.debezium.connector.mariadb.MariaDbConnector',
      'io.debezium.connector.postgresql.PostgresConnector',
      SQLSERVER_CONNECTOR,
    ]);
    for (const { file, name, config: c } of connectors) {
      const cls = c['connector.class']!;
      // SQL Server cannot run on the test machine: its connector is the one class the tests do not register.
      if (cls !== SQLSERVER_CONNECTOR) expect(testClasses, file).toContain(cls);
      expect(name, file).toBe(file.replace(/\.json$/, ''));
      expect(c['key.converter'], file).toBe('org.apache.kafka.connect.json.JsonConverter');
      expect(c['value.converter'], file).toBe('org.apache.kafka.connect.json.JsonConverter');
      expect(c['key.converter.schemas.enable'], file).toBe('true');
      expect(c['value.converter.schemas.enable'], file).toBe('true');
      expect(Number(c['heartbeat.interval.ms']), file).toBeGreaterThan(0);
      // The settings the README's "Types and exact values" recommends (and the type matrix registers).
      for (const [key, value] of Object.entries(EXACT_SETTINGS[cls] ?? {})) expect(c[key], `${file}: ${key}`).toBe(value);
      expect(Object.keys(compose.services), file).toContain(c['database.hostname']);
      if (cls.endsWith('PostgresConnector')) {
        expect(c['plugin.name']).toBe('pgoutput');
        expect(c['publication.autocreate.mode']).toBe('filtered');
        expect(c['slot.name']).toMatch(/^[a-z0-9_]+$/);
      } else {
        // MariaDB/MySQL and SQL Server keep their schema history in a topic of this broker
        expect(c['schema.history.internal.kafka.bootstrap.servers'], file).toBe('kafka:9092');
        expect(c['schema.history.internal.kafka.topic'], file).toBeTruthy();
      }
    }
  });

  it('runs a valid tandem config whose systems read exactly the topics the connectors publish', () => {
    expect(config.kafka!.brokers).toEqual(['kafka:9092']);
    expect(s('kafka').environment!.KAFKA_ADVERTISED_LISTENERS).toContain('PLAINTEXT://kafka:9092');
    const debeziumSystems = Object.entries(config.systems).filter(([, sys]) => sys.debezium);
    expect(debeziumSystems.map(([, sys]) => sys.debezium!.topicPrefix).sort())
      .toEqual(connectors.map((c) => c.config['topic.prefix']).sort());
    for (const [system, sys] of debeziumSystems) {
      const dbz = sys.debezium!;
      const connector = connectors.find((c) => c.config['topic.prefix'] === dbz.topicPrefix)!;
      expect(CONNECTOR_KIND[connector.config['connector.class']!], system).toBe(dbz.connector);
      const included = connector.config['table.include.list']!.split(',');
      const tables = config.mappings.filter((m) => m.system === system).map((m) => m.table);
      expect(tables.length, system).toBeGreaterThan(0);
      for (const table of tables) {
        expect(included, `${system}: ${table}`).toContain(table);
        if (dbz.connector === 'sqlserver') {
          // <prefix>.<database>.<schema>.<table>
          expect(dbz.topics, system).toContain(`${dbz.topicPrefix}.${connector.config['database.names']}.${table}`);
        }
      }
      for (const topic of dbz.topics ?? []) expect(topic.startsWith(`${dbz.topicPrefix}.`), topic).toBe(true);
    }
    for (const [name, entity] of Object.entries(config.entities)) expect(Object.keys(config.systems), name).toContain(entity.owner);
  });

  it('gives tandem a URL for every variable its config reads', () => {
    const envScript = read('tandem-debezium-env.sh');
    for (const name of Object.keys(DEBEZIUM_ENV)) expect(envScript, name).toMatch(new RegExp(`export ${name}=`));
    expect(s('tandem').command).toEqual(['run', '--config', '/app/docker/tandem-debezium.yaml']);
  });

  it('keeps passwords out of compose files and connector JSON: secrets files only', () => {
    const literalUrl = /(postgres(ql)?|mysql|mssql|redis):\/\/[^$\s"]*:[^@$\s"]+@/;
    for (const file of ['compose.yaml', 'compose.debezium.yaml']) {
      const text = read(file);
      expect(text, file).not.toMatch(literalUrl);
      // passwords only as *_PASSWORD_FILE pointing at a secret
      for (const m of text.matchAll(/^\s*(\w*PASSWORD\w*):\s*(.*)$/gm)) {
        expect(m[1], `${file}: ${m[0]}`).toMatch(/_FILE$/);
        expect(m[2], `${file}: ${m[0]}`).toMatch(/^\/run\/secrets\//);
      }
    }
    // SQL Server takes its password from the environment: the entrypoint sets it from the secret
    expect(Object.keys(s('mssql').environment!)).not.toContain('MSSQL_SA_PASSWORD');
    expect(read('mssql-entrypoint.sh')).toContain('MSSQL_SA_PASSWORD="$(cat /run/secrets/mssql_password)"');

    const providerDir = s('connect').environment!.CONNECT_CONFIG_PROVIDERS_FILE_PARAM_ALLOWED_PATHS!;
    expect(s('connect').environment!.CONNECT_CONFIG_PROVIDERS).toBe('file');
    const secretsScript = read('connect-secrets.sh');
    for (const { file, config: c } of connectors) {
      for (const [key, value] of Object.entries(c)) {
        if (!/password|secret|sasl\.jaas/i.test(key)) continue;
        const ref = /^\$\{file:([^:}]+):([^}]+)\}$/.exec(value);
        expect(ref, `${file}: ${key} must be a \${file:…} reference`).not.toBeNull();
        expect(ref![1]!.startsWith(`${providerDir}/`), `${file}: ${key}`).toBe(true);
        // connect-secrets.sh writes that key from a mounted secret
        expect(secretsScript, `${file}: ${key}`).toMatch(new RegExp(`prop ${ref![2]!.replace(/\./g, '\\.')} /run/secrets/\\w+`));
      }
      expect(JSON.stringify(c), file).not.toContain(readFileSync(resolve(dockerDir, 'db_password.txt'), 'utf8').trim());
      expect(JSON.stringify(c), file).not.toContain(readFileSync(resolve(dockerDir, 'mssql_password.txt'), 'utf8').trim());
    }
  });

  it('registers the connectors with Connect (create or update) and waits until they run', async () => {
    const puts: Array<{ path: string; body: Record<string, string> }> = [];
    const statusCalls = new Map<string, number>();
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const send = (status: number, body: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
        if (req.method === 'GET' && req.url === '/connector-plugins') return send(200, Object.keys(CONNECTOR_KIND).map((c) => ({ class: c, type: 'source' })));
        const put = /^\/connectors\/([^/]+)\/config$/.exec(req.url ?? '');
        if (req.method === 'PUT' && put) {
          puts.push({ path: req.url!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          return send(201, { name: decodeURIComponent(put[1]!) });
        }
        const status = /^\/connectors\/([^/]+)\/status$/.exec(req.url ?? '');
        if (req.method === 'GET' && status) {
          const n = (statusCalls.get(status[1]!) ?? 0) + 1;
          statusCalls.set(status[1]!, n);
          // first poll: not running yet
          const state = n > 1 ? 'RUNNING' : 'UNASSIGNED';
          return send(200, { name: status[1], connector: { state }, tasks: n > 1 ? [{ id: 0, state }] : [] });
        }
        send(404, { error_code: 404, message: 'not found' });
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const { port } = server.address() as AddressInfo;
      const result = await new Promise<{ code: number | null; out: string }>((ok) => {
        const child = spawn(process.execPath, [resolve(dockerDir, 'register-connectors.mjs'), resolve(dockerDir, 'connectors')], {
          env: { ...process.env, CONNECT_URL: `http://127.0.0.1:${port}`, CONNECT_TIMEOUT_S: '20', CONNECT_POLL_MS: '50' },
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('close', (code) => ok({ code, out }));
      });
      expect(result.code, result.out).toBe(0);
      expect(puts.map((p) => p.path).sort()).toEqual(connectors.map((c) => `/connectors/${c.name}/config`).sort());
      for (const c of connectors) expect(puts.find((p) => p.path === `/connectors/${c.name}/config`)!.body).toEqual({ ...c.config, name: c.name });
      expect(result.out).toContain('all connectors registered and running');
    } finally {
      await new Promise((ok) => server.close(ok));
    }
  }, 30_000);
});
