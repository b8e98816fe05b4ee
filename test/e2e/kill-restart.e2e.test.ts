/**
 * The crash test: `tandem run` as a child process, two-way configuration (the
 * CRM target is captured too, so echoes of tandem's writes come back), a
 * stream of ~3,000 ERP changes, SIGKILL mid-stream, restart, convergence. The
 * CRM's own trigger logs every write it receives (row key + new value), and
 * from that log we check that no change was lost and none applied twice.
 *
 * "No change lost": every distinct name the ERP committed for a customer
 * appears among the names tandem wrote to that customer's CRM account, and
 * the final names agree. tandem turns every captured change into its own
 * outbox task and applies a record's tasks in order, so no value may be
 * skipped, with one exception that would be legitimate: a task whose outcome
 * is 'superseded' (the target held a value other than the one tandem expected).
 * Those are counted and excused, and nothing but tandem writes the CRM here, so
 * we also expect there to be none.
 * "None applied twice": no (account, name) pair appears twice in the CRM's
 * write log; every name the ERP writes is distinct.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support';
import { startTandem, type Tandem } from './child';
import { createWorld, sql, twoWayConfig, type TwoWayWorld } from './harness';

const CUSTOMERS = 200;
const UPDATES = 2_800;

describe('tandem run killed with SIGKILL mid-stream and restarted (two-way, PostgreSQL ⇄ PostgreSQL, Redis)', () => {
  let world: TwoWayWorld;
  let dir: string;
  let configFile: string;
  const processes: Tandem[] = [];

  beforeAll(async () => {
    world = await createWorld('kill');
    dir = mkdtempSync(join(tmpdir(), 'tandem-kill-'));
    configFile = join(dir, 'tandem.yaml');
    writeFileSync(configFile, twoWayConfig({ names: world.names, extraPipeline: '  applyConcurrency: 4' }));
  });

  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    // The children's full logs, for a post-mortem of a failed run.
    processes.forEach((p, i) => writeFileSync(join(tmpdir(), `tandem-kill-restart-process-${i + 1}.log`), p.output()));
    await world?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const tandemWrites = async () => Number((await sql(world.crm.url, `SELECT count(*) AS n FROM write_log WHERE by_tandem`))[0]!.n);
  const start = () => {
    const p = startTandem(['run', '--config', configFile], { ...world.env, TANDEM_LOG_LEVEL: 'info' });
    processes.push(p);
    return p;
  };
  const logsOf = () => processes.map((p, i) => `--- process ${i + 1}:\n${p.output().slice(-4000)}`).join('\n');

  it('loses no change and applies none twice; SIGTERM then drains and exits 0', { timeout: 180_000 }, async () => {
    const first = start();
    // Ready once both sources have made a batch durable (a checkpoint). A slot
    // is visible and active while it is still being created, and changes
    // committed before its consistent point reach tandem only through the
    // initial snapshot, as the latest value of each row: the workload must not
    // start before that point, or its first values are legitimately never seen.
    const ready = await waitFor(async () => {
      if (first.child.exitCode !== null) return 'exited';
      const rows = await sql(world.state.url, `SELECT count(*)::int AS n FROM ${world.names.schema}.checkpoints WHERE system IN ('erp', 'crm')`);
      return rows[0]!.n === 2 ? 'capturing' : null;
    }, { timeoutMs: 30_000, message: () => `tandem never started capturing\n${logsOf()}` });
    expect(ready, `tandem exited at start\n${logsOf()}`).toBe('capturing');

    // --- the workload, written while tandem runs, in many transactions of 1–25 changes
    const written = new Map<string, string[]>(); // cust_no → names in commit order
    const erp = new pg.Client({ connectionString: world.erp.url });
    await erp.connect();
    let killedAt = -1;
    let restarted: Tandem | null = null;
    let changes = 0;
    try {
      for (let i = 0; i < CUSTOMERS; i += 20) {
        await erp.query('BEGIN');
        for (let j = i; j < i + 20; j++) {
          const name = `cust-${j}-v0`;
          const { rows } = await erp.query('INSERT INTO customers (name, credit_limit) VALUES ($1, $2) RETURNING cust_no', [name, `${j}.00`]);
          written.set(rows[0].cust_no, [name]);
          changes++;
        }
        await erp.query('COMMIT');
      }
      const keys = [...written.keys()];
      let version = 0;
      let rng = 12345;
      const random = (n: number) => ((rng = (rng * 1103515245 + 12345) % 2 ** 31), rng % n);
      while (changes < CUSTOMERS + UPDATES) {
        version++;
        await erp.query('BEGIN');
        if (version % 7 === 0) {
          // One statement, several rows: several events at one LSN.
          const some = [...new Set(Array.from({ length: 5 }, () => keys[random(keys.length)]!))];
          await erp.query(`UPDATE customers SET name = 'cust-' || substr(cust_no, 2)::int || '-m${version}' WHERE cust_no = ANY($1)`, [some]);
          for (const k of some) written.get(k)!.push(`cust-${Number(k.slice(1))}-m${version}`);
          changes += some.length;
        } else {
          const size = 1 + random(25);
          for (let s = 0; s < size; s++) {
            const k = keys[random(keys.length)]!;
            const name = `cust-${Number(k.slice(1))}-v${version}.${s}`;
            await erp.query('UPDATE customers SET name = $1 WHERE cust_no = $2', [name, k]);
            written.get(k)!.push(name);
            changes++;
          }
        }
        await erp.query('COMMIT');
        // Kill once some, but not all, of the stream has been applied.
        if (killedAt < 0 && (await tandemWrites()) >= 700) {
          first.child.kill('SIGKILL');
          await first.exited;
          killedAt = await tandemWrites();
          restarted = start();
        }
        if (version % 5 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await erp.end();
    }
    expect(killedAt, `tandem had applied fewer than 700 writes when the workload ended\n${logsOf()}`).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(changes);
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    // --- convergence: every ERP customer's final name in its CRM account, outbox empty
    const links = async () => new Map((await sql(world.state.url,
      `SELECT e.local_key AS cust_no, c.local_key AS account_id
         FROM ${world.names.schema}.crosswalk e
         JOIN ${world.names.schema}.crosswalk c ON c.entity = e.entity AND c.canonical_key = e.canonical_key AND c.system = 'crm'
        WHERE e.entity = 'customer' AND e.system = 'erp'`)).map((r) => [r.cust_no as string, r.account_id as string]));
    let accountOf = new Map<string, string>();
    let progress = '';
    await waitFor(async () => {
      accountOf = await links();
      const open = (await sql(world.state.url, `SELECT status, count(*)::int AS n FROM ${world.names.schema}.outbox GROUP BY 1`)).map((r) => `${r.status} ${r.n}`).join(', ');
      progress = `crosswalk ${accountOf.size}/${CUSTOMERS}; outbox ${open}; CRM writes ${await tandemWrites()}/${changes}`;
      if (accountOf.size < CUSTOMERS) return false;
      const crmNames = new Map((await sql(world.crm.url, 'SELECT id::text, account_name FROM accounts')).map((r) => [r.id as string, r.account_name as string]));
      const behind = [...written].filter(([custNo, names]) => crmNames.get(accountOf.get(custNo)!) !== names.at(-1)).length;
      progress += `; rows behind ${behind}`;
      return behind === 0 && !/pending|inflight/.test(open);
    }, { timeoutMs: 90_000, intervalMs: 250, message: () => `the CRM did not converge after the restart (${progress})\n${logsOf()}` });

    // --- the CRM's write log, judged
    const log = await sql(world.crm.url, `SELECT row_key, new_value, op, by_tandem FROM write_log WHERE tbl = 'accounts' ORDER BY id`);
    expect(log.every((w) => w.by_tandem), 'only tandem writes the CRM in this test').toBe(true);
    expect(log.filter((w) => w.op === 'DELETE')).toEqual([]);
    const seen = new Map<string, number>();
    for (const w of log) seen.set(`${w.row_key}\u0000${w.new_value}`, (seen.get(`${w.row_key}\u0000${w.new_value}`) ?? 0) + 1);
    const twice = [...seen].filter(([, n]) => n > 1).map(([k]) => k.replace('\u0000', ' = '));
    expect(twice, 'a (row, value) written more than once: applied twice').toEqual([]);
    expect(log.filter((w) => w.op === 'INSERT')).toHaveLength(CUSTOMERS);

    const superseded = (await sql(world.state.url, `SELECT count(*)::int AS n FROM ${world.names.schema}.outbox WHERE outcome = 'superseded'`))[0]!.n as number;
    const lost: string[] = [];
    let total = 0;
    for (const [custNo, names] of written) {
      const account = accountOf.get(custNo)!;
      for (const name of names) {
        total++;
        if (!seen.has(`${account}\u0000${name}`)) lost.push(`${custNo} ${name}`);
      }
    }
    expect(total).toBe(changes);
    if (lost.length > 0) {
      const perRow = new Map<string, number>();
      for (const l of lost) perRow.set(l.split(' ')[0]!, (perRow.get(l.split(' ')[0]!) ?? 0) + 1);
      const [custNo] = [...perRow.keys()];
      const account = accountOf.get(custNo!)!;
      const itsLog = await sql(world.crm.url, `SELECT id, op, new_value, at FROM write_log WHERE row_key = $1 ORDER BY id`, [account]);
      const itsTasks = await sql(world.state.url, `SELECT id, status, outcome, fields, correlation_id, attempts FROM ${world.names.schema}.outbox WHERE target = 'crm' AND key = $1 ORDER BY id`, [`erp:${custNo}`]);
      console.error(`LOST per row: ${JSON.stringify([...perRow])}\n${custNo} → ${account}: written ${JSON.stringify(written.get(custNo!))}\nCRM log ${JSON.stringify(itsLog)}\ntasks ${JSON.stringify(itsTasks)}\nkilled at ${killedAt}\n${logsOf()}`);
    }
    expect(lost.length, `values the ERP wrote that never reached the CRM: ${lost.slice(0, 10).join(', ')}`).toBeLessThanOrEqual(superseded);
    expect(lost).toEqual([]);
    expect(log).toHaveLength(changes);
    // The restarted process did real work: part of the stream was applied after the kill.
    expect(changes - killedAt).toBeGreaterThan(0);
    const outcomes = await sql(world.state.url, `SELECT outcome, count(*)::int AS n FROM ${world.names.schema}.outbox GROUP BY 1 ORDER BY 1`);
    console.info(`kill-restart: ${changes} ERP changes, killed after ${killedAt} CRM writes, ${log.length} CRM writes in all; outbox outcomes ${JSON.stringify(outcomes)}`);

    // No echo went round: the ERP was written by nobody but the workload.
    const erpByTandem = await sql(world.erp.url, `SELECT count(*)::int AS n FROM write_log WHERE by_tandem`);
    expect(erpByTandem[0]!.n).toBe(0);

    // --- SIGTERM: drain and exit 0
    restarted!.child.kill('SIGTERM');
    const timer = setTimeout(() => restarted!.child.kill('SIGKILL'), 20_000);
    const exit = await restarted!.exited;
    clearTimeout(timer);
    expect(exit, `the restarted tandem did not exit 0 on SIGTERM\n${logsOf()}`).toEqual({ code: 0, signal: null });
    // It acknowledged what it had done: both slots are inactive and the ERP's is at (or near) the end of the WAL.
    const slots = await sql(world.erp.url, 'SELECT slot_name, active FROM pg_replication_slots WHERE slot_name IN ($1, $2) ORDER BY 1', [world.names.erpSlot, world.names.crmSlot]);
    expect(slots.every((s) => s.active === false)).toBe(true);
  });
});
