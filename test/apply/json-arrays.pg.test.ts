import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlTarget } from '../../src/apply';
import { mappingSpec } from '../../src/config/spec';
import { compileMapping } from '../../src/transform';
import { createPgDatabase, requireEnv, type TestDatabase } from '../support';
import { makeTask, MemoryCrosswalk } from './helpers';

// pg binds a JavaScript array as an SQL array literal: right for int[], wrong
// for json/jsonb, where a JSON array must arrive as a JSON array.
describe('JSON arrays into PostgreSQL json/jsonb columns', () => {
  requireEnv('TANDEM_TEST_PG_URL');
  let db: TestDatabase;
  let target: SqlTarget;
  const mapping = compileMapping(mappingSpec.parse({
    system: 'erp', table: 'public.docs', entity: 'doc', key: { columns: ['id'] },
    fields: { id: 'id', tags: 'tags', doc: 'doc', codes: 'codes' },
  }));
  const crosswalk = new MemoryCrosswalk();
  const ctx = { mapping, crosswalk, refMappings: () => undefined };

  beforeAll(async () => {
    db = await createPgDatabase('jsonarr');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query('CREATE TABLE docs (id text PRIMARY KEY, tags jsonb, doc json, codes int[])');
    await client.end();
    target = new SqlTarget({ system: 'erp', type: 'postgres', connectionString: db.url, origin: `o_${db.name}`, conditional: false, poolSize: 2 });
  });
  afterAll(async () => {
    await target?.close();
    await db?.drop();
  });

  async function row(id: string) {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query('SELECT tags::text, doc::text, codes::text FROM docs WHERE id = $1', [id])).rows[0];
    } finally {
      await client.end();
    }
  }

  it('inserts and updates top-level arrays as JSON arrays, and int[] as an SQL array (single and batch paths)', async () => {
    const record = { id: 'a', tags: ['x', { y: 1 }], doc: [1, 2, 3], codes: [7, 8] };
    await target.apply(makeTask({ entity: 'doc', key: 'erp:a', fields: record, record }), ctx);
    expect(await row('a')).toEqual({ tags: '["x", {"y": 1}]', doc: '[1,2,3]', codes: '{7,8}' });

    const update = { tags: [], doc: [[1], ['two']] };
    const [result] = await target.applyBatch([makeTask({ entity: 'doc', key: 'erp:a', fields: update, record: { ...record, ...update } })], ctx);
    expect(result?.error).toBeUndefined();
    expect(await row('a')).toEqual({ tags: '[]', doc: '[[1],["two"]]', codes: '{7,8}' });
  });
});
