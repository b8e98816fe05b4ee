import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../../..');
const FIX = path.resolve(ROOT, '../shared/fixtures/debezium');
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
});
