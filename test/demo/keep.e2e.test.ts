/**
 * `tandem demo --keep` as a user meets it: the console URL with the metrics
 * port really bound, then the `export …` lines; pasted into another shell,
 * `tandem status` (no --config) reaches the kept databases and the live
 * /metrics. Ctrl-C then stops the demo with its verdict's exit code.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, startTandem } from '../e2e/child';

describe('tandem demo --keep', () => {
  it('prints the real metrics port and export lines that make tandem status work right after', async () => {
    const demo = startTandem(['demo', '--seconds', '2', '--keep'], {});
    try {
      const deadline = Date.now() + 240_000;
      while (!/press Ctrl-C/.test(demo.output()) && Date.now() < deadline) {
        if (demo.child.exitCode !== null) throw new Error(`the demo ended early:\n${demo.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const output = demo.output();
      expect(output).toContain('CONVERGED');
      const port = Number(/console: http:\/\/127\.0\.0\.1:(\d+)\//.exec(output)?.[1]);
      expect(port).toBeGreaterThan(0);

      const exports = [...output.matchAll(/^ {2}export (\w+)=('.*')$/gm)];
      expect(exports.map((m) => m[1])).toEqual(['TANDEM_CONFIG', 'TANDEM_STATE_URL', 'ERP_DATABASE_URL', 'CRM_DATABASE_URL', 'TANDEM_METRICS_PORT']);
      // The lines as a shell reads them, then the CLI with nothing else set.
      const script = `${exports.map((m) => m[0].trim()).join('\n')}\nexec "${process.execPath}" "${BIN}" status --json`;
      const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(TANDEM_|ERP_|CRM_)/.test(name)));
      const report = JSON.parse(execFileSync('sh', ['-c', script], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 })) as {
        sources: Array<{ system: string; position: string | null }>; service: { metricsUrl: string; reachable: boolean; readyzStatus: number | null };
      };
      expect(report.service).toMatchObject({ metricsUrl: `http://127.0.0.1:${port}/metrics`, reachable: true, readyzStatus: 200 });
      expect(report.sources.map((s) => s.system).sort()).toEqual(['crm', 'erp']);
      expect(report.sources.every((s) => s.position !== null)).toBe(true);
    } finally {
      demo.child.kill('SIGINT');
    }
    expect(await demo.exited).toEqual({ code: 0, signal: null });
  }, 300_000);
});
