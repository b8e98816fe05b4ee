import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../../..');
// TANDEM_FIXTURES_DIR: a git worktree outside /work/main has no ../shared beside it.
const FIX = process.env.TANDEM_FIXTURES_DIR ?? path.resolve(ROOT, '../shared/fixtures/debezium');
const tandem = (args: string[], input?: string) =>
  spawnSync(process.execPath, [path.join(ROOT, 'bin/tandem.mjs'), 'decode', ...args], { cwd: ROOT, input, encoding: 'utf8', timeout: 60_000 });

describe('tandem decode', () => {
  it('prints one JSON line for a key and value file', () => {
    const r = tandem(['--key', `${FIX}/sqlserver/docs-key-customers.json`, `${FIX}/sqlserver/docs-create-customers-schema-payload.json`]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      kind: 'change', op: 'c', connector: 'sqlserver', table: 'customers', keyColumns: ['id'], snapshot: 'false',
      position: '00000027000007580005:00000027000007580003:00000001', after: { id: 1005, email: 'john.doe@example.org' },
    });
  });

  it('prints exact decimals and times from a value file', () => {
    const r = tandem([`${FIX}/mysql/paimon-read-all-types-schema-payload.json`]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('"_fixed":"123456789876543212345678987654321.110"');
    expect(JSON.parse(r.stdout).after).toMatchObject({ _big_decimal: '2222222222222222300000001111.1234567890', _datetime6: '2023-03-23T14:30:05.123456', _timestamp: '2023-03-23T22:00:10.123456Z' });
  });

  it('reads an array of {key, value} from stdin, reports the bad one and exits 1', () => {
    const batch = JSON.stringify([
      { key: { id: 1 }, value: null, topic: 'erp.t', partition: 0, offset: '5' },
      { key: null, value: { op: 'z' }, topic: 'erp.t', partition: 0, offset: '6' },
      { key: null, value: { status: 'BEGIN', id: 'tx1', ts_ms: 1, event_count: null, data_collections: null } },
    ]);
    const r = tandem(['-'], batch);
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.kind)).toEqual(['tombstone', 'transaction']);
    expect(r.stderr).toMatch(/message 1: topic erp\.t partition 0 offset 6: .*unknown op/);
  });

  it('exits 2 on a missing file', () => {
    expect(tandem(['/nonexistent/file.json']).status).toBe(2);
  });

  it('takes an empty value file as a tombstone of its key (how a console consumer saves one)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tandem-decode-'));
    writeFileSync(path.join(dir, 'value.json'), '');
    writeFileSync(path.join(dir, 'key.json'), '{"id":1005}\n');
    const r = tandem(['--key', path.join(dir, 'key.json'), path.join(dir, 'value.json')]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: 'tombstone', key: { id: 1005 } });
    const alone = tandem([path.join(dir, 'value.json')]);
    expect(alone.status).toBe(0);
    expect(JSON.parse(alone.stdout)).toMatchObject({ kind: 'tombstone', key: null });
  });

  it('reports key columns as unknown without a key, and from the key schema in key<TAB>value lines', () => {
    const value = readFileSync(`${FIX}/mysql/tutorial-create-1005-schema-payload.json`, 'utf8').replace(/\s*\n\s*/g, ' ').trim();
    const key = readFileSync(`${FIX}/mysql/tutorial-create-1005-key.json`, 'utf8').replace(/\s*\n\s*/g, ' ').trim();
    const alone = JSON.parse(tandem(['-'], value).stdout) as Record<string, unknown>;
    expect(alone.keyColumns).toBeNull();
    expect(alone.keyColumnsUnknown).toMatch(/no key given/);
    // kafka-console-consumer --property print.key=true: key, a tab, the value; a tombstone's value prints as null.
    const r = tandem(['-'], `${key}\t${value}\n${key}\tnull\n`);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ kind: 'change', keyColumns: ['id'], after: { id: 1005 } });
    expect(lines[0]).not.toHaveProperty('keyColumnsUnknown');
    expect(lines[1]).toMatchObject({ kind: 'tombstone', key: { id: 1005 } });
  });
});
