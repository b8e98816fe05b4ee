/**
 * CPU time per process group over a phase, from /proc (Linux): this node
 * process, a PostgreSQL server (its postmaster, every backend it runs, and
 * the backends that ended during the phase, which the postmaster has
 * reaped), Redis. Divided by the changes of the phase, it says where each
 * change's CPU goes (µs per change), which a rate alone does not.
 */
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

const TICKS_PER_SECOND = 100;

interface ProcStat {
  ppid: number;
  /** user + system CPU seconds of the process itself */
  own: number;
  /** user + system CPU seconds of its reaped children */
  reaped: number;
}

function procStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const n = (i: number) => Number(fields[i - 3]);
    return { ppid: n(4), own: (n(14) + n(15)) / TICKS_PER_SECOND, reaped: (n(16) + n(17)) / TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

/** CPU seconds used so far by a server process and everything it ran. */
function treeSeconds(rootPid: number): number {
  const root = procStat(rootPid);
  if (!root) return 0;
  let total = root.own + root.reaped;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === rootPid) continue;
    const stat = procStat(pid);
    if (stat?.ppid === rootPid) total += stat.own;
  }
  return total;
}

/** The postmaster of the server a URL points at (the parent of one of its backends). */
export async function postmasterPid(url: string): Promise<number | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
    return procStat(Number(rows[0].pid))?.ppid ?? null;
  } catch {
    return null;
  } finally {
    await client.end();
  }
}

export interface CpuGroups {
  /** name → root pid (the tree under it is counted); `node` is this process. */
  [name: string]: number | null;
}

export interface CpuMeter {
  /** µs of CPU per change for each group, and `total`. */
  stop(changes: number): Record<string, number>;
}

export function startCpuMeter(groups: CpuGroups): CpuMeter {
  const read = () => Object.fromEntries(Object.entries(groups).map(([name, pid]) => [name, pid === null ? 0 : treeSeconds(pid)]));
  const node0 = process.cpuUsage();
  const before = read();
  return {
    stop(changes) {
      const node = process.cpuUsage(node0);
      const after = read();
      const perChange: Record<string, number> = { node: Math.round((node.user + node.system) / Math.max(1, changes)) };
      for (const name of Object.keys(groups)) perChange[name] = Math.round((1e6 * (after[name]! - before[name]!)) / Math.max(1, changes));
      perChange.total = Object.values(perChange).reduce((a, b) => a + b, 0);
      return perChange;
    },
  };
}
