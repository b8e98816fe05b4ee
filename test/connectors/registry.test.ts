import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { connectorFor, debeziumConnectorNames, isSystemType, systemTypes } from '../../src/connectors';

const ROOT = join(import.meta.dirname, '..', '..');

function filesUnder(dir: string, ending: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path, ending) : path.endsWith(ending) ? [path] : [];
  });
}

/** A configuration with one system of `type` (written to by a postgres source) and what the type needs besides. */
function oneSystemOf(type: string, extra = ''): string {
  return `
stateStore: { url: { env: STATE_URL } }
systems:
  src: { type: postgres, url: { env: SRC_URL }, capture: { slot: s, publication: p } }
  it:
    type: ${type}
    url: { env: IT_URL }${extra}
entities:
  thing: { owner: src }
mappings:
  - { system: src, table: things, entity: thing, key: { columns: [id] }, fields: { id: id, name: name } }
  - { system: it, table: things, entity: thing, key: { columns: [id] }, fields: { id: id, name: name } }
pipeline: { allowNoRedis: true }
`;
}

/** What a type needs beyond type and url to be configured at all (its connector's `settingsKey` block). */
const SETTINGS: Record<string, string> = {
  rest: `\n    rest: { endpoints: { thing: { create: { method: POST, path: /things }, update: { method: PUT, path: '/things/{id}' } } } }`,
};

describe('connector registry', () => {
  it('has a connector, with every hook, for each type the configuration accepts, and no other type is accepted', () => {
    expect(systemTypes().length).toBeGreaterThan(0);
    for (const type of systemTypes()) {
      const connector = connectorFor(type);
      expect(connector.type).toBe(type);
      expect(typeof connector.target).toBe('function');
      expect(typeof connector.preflight).toBe('function');
      expect(typeof connector.status).toBe('function');
      // Native capture is offered exactly when its settings have a schema.
      expect(connector.source === undefined).toBe(connector.config.capture === undefined);
      // A type needing its own settings block declares it; the check below gives it one.
      if (connector.config.settingsKey) expect(SETTINGS[type]).toBeDefined();
      const { config } = parseConfig(oneSystemOf(type, SETTINGS[type] ?? ''), `${type}.yaml`, {});
      expect(config.systems.it!.type).toBe(type);
    }
    expect(isSystemType('oracle')).toBe(false);
    expect(() => parseConfig(oneSystemOf('oracle'), 'oracle.yaml', {})).toThrow(/unknown system type "oracle" \(types: .*postgres/);
  });

  it('covers every system type written in the shipped and documented configurations', () => {
    const documents = [
      ...filesUnder(join(ROOT, 'config'), '.yaml'),
      // Grafana's and Prometheus' provisioning files have `type:` keys of their own (datasource, provider).
      ...filesUnder(join(ROOT, 'docker'), '.yaml').filter((f) => !/[\\/]docker[\\/](grafana|prometheus)[\\/]/.test(f)),
      join(ROOT, 'README.md'),
      join(ROOT, 'docker', 'README.md'),
    ];
    const used = new Set<string>();
    for (const file of documents) {
      for (const match of readFileSync(file, 'utf8').matchAll(/^\s*type:\s*([a-z][a-z0-9_-]*)\s*$/gm)) used.add(match[1]!);
    }
    expect(used.size).toBeGreaterThan(1);
    for (const type of used) expect(systemTypes(), `type: ${type}`).toContain(type);
  });

  it('routes each Debezium connector name to exactly one system type, and refuses a name the type is not captured with', () => {
    const names = debeziumConnectorNames();
    expect(new Set(names).size).toBe(names.length);
    for (const name of ['postgresql', 'mysql', 'mariadb', 'sqlserver']) expect(names).toContain(name);
    for (const type of systemTypes()) {
      const layout = connectorFor(type).debezium;
      if (!layout) continue;
      const debezium = (connector: string) => `\n    debezium: { topicPrefix: p, connector: ${connector} }`;
      const withKafka = (yaml: string) => `${yaml}kafka: { brokers: ['localhost:9092'] }\n`;
      expect(parseConfig(withKafka(oneSystemOf(type, debezium(layout.connectors[0]!))), 'dbz.yaml', {}).config.systems.it!.debezium).toBeDefined();
      const foreign = names.find((n) => !layout.connectors.includes(n))!;
      expect(() => parseConfig(withKafka(oneSystemOf(type, debezium(foreign))), 'dbz.yaml', {})).toThrow(new RegExp(`not "${foreign}"`));
    }
  });

  it('refuses capture settings and type-specific blocks on a type that has none', () => {
    for (const type of systemTypes()) {
      const connector = connectorFor(type);
      if (!connector.config.capture) {
        expect(() => parseConfig(oneSystemOf(type, `${SETTINGS[type] ?? ''}\n    capture: { slot: s, publication: p }`), 'x.yaml', {})).toThrow(/target only/);
      }
      if (connector.config.settingsKey !== 'rest') {
        expect(() => parseConfig(oneSystemOf(type, SETTINGS.rest), 'x.yaml', {})).toThrow(/rest settings belong to systems of type rest/);
      }
      if (!connector.config.echoServerId) {
        expect(() => parseConfig(oneSystemOf(type, `${SETTINGS[type] ?? ''}\n    apply: { echoServerId: 7 }`), 'x.yaml', {})).toThrow(/echoServerId applies to systems of type/);
      }
    }
  });
});

/**
 * Files outside src/connectors that still switch on a name, and why that is
 * not a system type: SQL dialect internals switch on the dialect a connector
 * names (`connector.dialect`), and Debezium's message format names its
 * connector in every event's `source`.
 */
const DIALECT_INTERNALS = new Set([
  'src/apply/sql-dialect.ts',
  'src/apply/sql-columns.ts',
  'src/apply/sql-rows.ts',
  'src/apply/sql-bulk-rows.ts',
  'src/apply/key-allocation.ts',
  'src/preflight/catalog.ts',
  'src/preflight/catalog-db.ts',
  'src/preflight/capacity.ts',
  'src/capture/debezium/source-info.ts',
]);

describe('system types outside src/connectors', () => {
  const names = [...new Set([...systemTypes(), ...debeziumConnectorNames(), 'mariadb'])].join('|');
  const comparison = new RegExp(`([!=]==\\s*'(${names})'|'(${names})'\\s*[!=]==|case\\s+'(${names})'\\s*:|enum\\(\\[[^\\]]*'(${names})')`);
  const sources = filesUnder(join(ROOT, 'src'), '.ts').map((f) => relative(ROOT, f).split('\\').join('/'));

  it('are never compared: modules ask the registry', () => {
    const offenders: string[] = [];
    for (const file of sources) {
      if (file.startsWith('src/connectors/') || DIALECT_INTERNALS.has(file)) continue;
      readFileSync(join(ROOT, file), 'utf8').split('\n').forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '');
        if (!/^\s*\*/.test(code) && comparison.test(code)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it('the scan sees a comparison when there is one (and the exemptions still hold one each)', () => {
    expect(comparison.test(`if (spec.type === 'rest') return;`)).toBe(true);
    expect(comparison.test(`switch (x) { case 'postgres': }`)).toBe(true);
    expect(comparison.test(`type: z.enum(['postgres', 'mysql'])`)).toBe(true);
    expect(comparison.test(`const user = 'postgres';`)).toBe(false);
    for (const file of DIALECT_INTERNALS) {
      expect(sources, file).toContain(file);
      expect(readFileSync(join(ROOT, file), 'utf8').split('\n').some((l) => comparison.test(l)), `${file} no longer switches: drop it from the list`).toBe(true);
    }
  });
});
