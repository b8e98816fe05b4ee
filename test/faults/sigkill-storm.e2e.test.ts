/**
 * `tandem run` SIGKILLed again and again at random moments under a steady ERP
 * workload (two-way configuration: the CRM target is captured too, so echoes
 * come back), with the ERP's walsender terminated every fourth round. Then the
 * last process converges, and the CRM's trigger-fed write log is judged: every
 * value the ERP committed reached the CRM, none twice, one insert per customer.
 *
 * CI runs 20 kills; `TANDEM_FAULT_KILLS=100 npx vitest run test/faults/sigkill-storm.e2e.test.ts`
 * is the longer opt-in run. The seed of the kill timings is printed and can be
 * set with TANDEM_FAULT_SEED.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireEnv, TEST_ENV, waitFor } from '../support';
import { startTandem, type Tandem } from '../e2e/child';
import { createWorld, sql, twoWayConfig, type TwoWayWorld } from '../e2e/harness';

const KILLS = Number(process.env.TANDEM_FAULT_KILLS ?? 20);
const SEED = Number(process.env.TANDEM_FAULT_SEED ?? Date.now() % 100_000);
const CUSTOMERS = 100;

describe(`tandem run SIGKILLed ${KILLS} times under load, walsender terminated (PostgreSQL ⇄ PostgreSQL, Redis)`, () => {
  let world: TwoWayWorld;
  let dir: string;
  let configFile: string;
  const processes: Tandem[] = [];
  const adminUrl = requireEnv(TEST_ENV.pg);

  beforeAll(async () => {
    world = await createWorld('storm');
    dir = mkdtempSync(join(tmpdir(), 'tandem-storm-'));
    configFile = join(dir, 'tandem.yaml');
    writeFileSync(configFile, twoWayConfig({ names: world.names, extraPipeline: '  applyConcurrency: 4' }));
  });

  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    writeFileSync(join(tmpdir(), 'tandem-sigkill-storm.log'), processes.map((p, i) => `--- process ${i + 1}\n${p.output()}`).join('\n'));
    await world?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const start = () => {
    const p = startTandem(['run', '--config', configFile], { ...world.env, TANDEM_LOG_LEVEL: 'warn' });
    processes.push(p);
    return p;
  };
  const logsOf = () => processes.slice(-3).map((p) => `--- process ${processes.indexOf(p) + 1}:\n${p.output().slice(-3000)}`).join('\n');
  const terminateWalsenders = async () => {
    const rows = await sql(adminUrl,
      `SELECT count(pg_terminate_backend(active_pid))::int AS n FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, [world.names.erpSlot]);
    return rows[0]!.n as number;
  };

  it('loses no change and applies none twice', { timeout: 300_000 + KILLS * 24_000 }, async () => {
    let rng = SEED;
    const random = (n: number) => ((rng = (rng * 1103515245 + 12345) % 2 ** 31), rng % n);
    console.info(`sigkill storm: ${KILLS} kills, seed ${SEED}`);

    let current = start();
    await waitFor(async () => {
      const rows = await sql(world.state.url, `SELECT count(*)::int AS n FROM ${world.names.schema}.checkpoints WHERE system IN ('erp', 'crm')`).catch(() => [{ n: 0 }]);
      return rows[0]!.n === 2;
    }, { timeoutMs: 60_000, message: () => `tandem never started capturing\n${logsOf()}` });

    // --- the workload: customers, then renames in transactions of 1–10, until the kills are done
    const written = new Map<string, string[]>();
    const erp = new pg.Client({ connectionString: world.erp.url });
    await erp.connect();
    const { rows: created } = await erp.query(
      `INSERT INTO customers (name, credit_limit) SELECT 'c' || g || '-v0', g FROM generate_series(1, ${CUSTOMERS}) g RETURNING cust_no, name`);
    for (const r of created) written.set(r.cust_no, [r.name]);
    const keys = [...written.keys()];
    let stop = false;
    let changes = CUSTOMERS;
    const workload = (async () => {
      for (let version = 1; !stop; version++) {
        await erp.query('BEGIN');
        const size = 1 + (version % 10);
        for (let s = 0; s < size; s++) {
          const k = keys[(version * 7 + s * 13) % keys.length]!;
          const name = `${k}-v${version}.${s}`;
          await erp.query('UPDATE customers SET name = $1 WHERE cust_no = $2', [name, k]);
          written.get(k)!.push(name);
          changes++;
        }
        await erp.query('COMMIT');
        await new Promise((r) => setTimeout(r, 15));
      }
    })();

    // --- the kills: each at a random moment 0.5–3 s into a process's life
    let walsendersTerminated = 0;
    try {
      for (let kill = 1; kill <= KILLS; kill++) {
        await new Promise((r) => setTimeout(r, 500 + random(2500)));
        if (kill % 4 === 0) {
          // Mid-life of this process: its walsender is streaming; cut it, let the source reconnect, then kill.
          await waitFor(async () => (await sql(adminUrl, `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, [world.names.erpSlot]))[0]?.active === true,
            { timeoutMs: 90_000, message: () => `the ERP slot never became active\n${logsOf()}` });
          walsendersTerminated += await terminateWalsenders();
          await new Promise((r) => setTimeout(r, 1000));
        }
        current.child.kill('SIGKILL');
        await current.exited;
        current = start();
      }
    } finally {
      stop = true;
      await workload;
      await erp.end();
    }
    const killed = processes.slice(0, -1);
    for (const p of killed) expect(await p.exited).toEqual({ code: null, signal: 'SIGKILL' });

    // --- convergence of the last process
    const tandemWrites = async () => Number((await sql(world.crm.url, `SELECT count(*) AS n FROM write_log WHERE by_tandem`))[0]!.n);
    let accountOf = new Map<string, string>();
    let progress = '';
    await waitFor(async () => {
      if (current.child.exitCode !== null) throw new Error(`the last tandem exited (${current.child.exitCode})\n${logsOf()}`);
      accountOf = new Map((await sql(world.state.url,
        `SELECT e.local_key AS cust_no, c.local_key AS account_id FROM ${world.names.schema}.crosswalk e
           JOIN ${world.names.schema}.crosswalk c ON c.entity = e.entity AND c.canonical_key = e.canonical_key AND c.system = 'crm'
          WHERE e.entity = 'customer' AND e.system = 'erp'`)).map((r) => [r.cust_no as string, r.account_id as string]));
      const open = (await sql(world.state.url, `SELECT status, count(*)::int AS n FROM ${world.names.schema}.outbox GROUP BY 1`)).map((r) => `${r.status} ${r.n}`).join(', ');
      progress = `crosswalk ${accountOf.size}/${CUSTOMERS}; outbox ${open}; CRM writes ${await tandemWrites()}/${changes}`;
      if (accountOf.size < CUSTOMERS) return false;
      const crmNames = new Map((await sql(world.crm.url, 'SELECT id::text, account_name FROM accounts')).map((r) => [r.id as string, r.account_name as string]));
      const behind = [...written].filter(([custNo, names]) => crmNames.get(accountOf.get(custNo)!) !== names.at(-1)).length;
      progress += `; rows behind ${behind}`;
      return behind === 0 && !/pending|inflight/.test(open);
    }, { timeoutMs: 120_000 + KILLS * 4_000, intervalMs: 500, message: () => `the CRM did not converge (${progress})\n${logsOf()}` });

    // --- the CRM's write log, judged
    const log = await sql(world.crm.url, `SELECT row_key, new_value, op, by_tandem FROM write_log WHERE tbl = 'accounts' ORDER BY id`);
    expect(log.every((w) => w.by_tandem), 'only tandem writes the CRM here').toBe(true);
    const seen = new Map<string, number>();
    for (const w of log) seen.set(`${w.row_key} = ${w.new_value}`, (seen.get(`${w.row_key} = ${w.new_value}`) ?? 0) + 1);
    expect([...seen].filter(([, n]) => n > 1).map(([k]) => k), 'applied twice').toEqual([]);
    expect(log.filter((w) => w.op === 'INSERT')).toHaveLength(CUSTOMERS);
    const lost = [...written].flatMap(([custNo, names]) => names.filter((n) => !seen.has(`${accountOf.get(custNo)} = ${n}`)).map((n) => `${custNo} ${n}`));
    expect(lost, 'values the ERP committed that never reached the CRM').toEqual([]);
    expect(log).toHaveLength(changes);
    expect(walsendersTerminated).toBeGreaterThan(0);
    // No echo went round to the ERP.
    expect((await sql(world.erp.url, `SELECT count(*)::int AS n FROM write_log WHERE by_tandem`))[0]!.n).toBe(0);
    console.info(`sigkill storm: ${KILLS} SIGKILLs, ${walsendersTerminated} walsenders terminated, ${changes} ERP changes, ${log.length} CRM writes, 0 lost, 0 twice (seed ${SEED})`);
  });
});
