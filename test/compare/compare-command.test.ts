/** `tandem compare` usage errors: exit 2 before anything is read. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main';
import { runCompareCommand } from '../../src/cli/compare-command';
import { bufferIo } from '../../src/cli/io';

const dir = mkdtempSync(join(tmpdir(), 'tandem-compare-cli-'));
const config = join(dir, 'tandem.yaml');
writeFileSync(config, `
stateStore: { url: { env: CMP_CLI_STATE_URL } }
systems:
  erp: { type: postgres, url: { env: CMP_CLI_ERP_URL } }
  crm: { type: postgres, url: { env: CMP_CLI_CRM_URL } }
entities:
  customer: { owner: erp }
mappings:
  - { system: erp, table: customers, entity: customer, key: { columns: [id] }, fields: { id: id, name: name } }
  - { system: crm, table: accounts, entity: customer, key: { columns: [id], generated: uuid }, fields: { name: account_name } }
`);
// Nothing listens here: the usage errors below must come before any connection.
Object.assign(process.env, { CMP_CLI_STATE_URL: 'postgres://nobody@127.0.0.1:9/none', CMP_CLI_ERP_URL: 'postgres://nobody@127.0.0.1:9/none', CMP_CLI_CRM_URL: 'postgres://nobody@127.0.0.1:9/none' });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(options: Parameters<typeof runCompareCommand>[0]) {
  const io = bufferIo();
  const code = await runCompareCommand(options, io);
  return { code, err: io.stderr() };
}

describe('tandem compare usage', () => {
  it('is registered with its options', () => {
    const help = buildProgram(() => undefined).commands.find((c) => c.name() === 'compare')!.helpInformation();
    for (const option of ['--config <file>', '--entity <name...>', '--systems <a,b>', '--repair', '--format <format>', '--limit <n>', '--no-pushdown']) expect(help).toContain(option);
  });

  it('exits 2 for an unknown format, entity or system, and an empty --systems', async () => {
    expect(await run({ config, format: 'xml' })).toEqual({ code: 2, err: 'tandem: --format must be one of table, csv, json; got xml\n' });
    expect(await run({ config, entity: ['invoice'] })).toEqual({ code: 2, err: 'tandem: no entity invoice in the configuration (entities: customer)\n' });
    expect(await run({ config, systems: 'erp,shop' })).toEqual({ code: 2, err: 'tandem: no system shop in the configuration (systems: erp, crm)\n' });
    expect((await run({ config, systems: ',' })).code).toBe(2);
  });

  it('exits 2 for a configuration that does not load', async () => {
    const r = await run({ config: join(dir, 'missing.yaml') });
    expect(r.code).toBe(2);
    expect(r.err).toContain('cannot read configuration');
  });
});
