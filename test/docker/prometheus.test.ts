/**
 * The Prometheus and Grafana files under docker/: the alert rules pass
 * `promtool check rules` and their own `promtool test rules`, the Prometheus
 * config is valid, every dashboard query is valid PromQL, and compose
 * provisions both. promtool comes from Debian's `prometheus` package
 * (scripts/services.sh install); without it these tests fail, never skip.
 * That every query names a metric tandem exports is checked against a live
 * pipeline in test/e2e/ops.e2e.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { dashboardQueries } from './queries';

const dockerDir = resolve(import.meta.dirname, '../../docker');
const prometheusDir = join(dockerDir, 'prometheus');

function promtool(args: string[], cwd = prometheusDir): { status: number; output: string } {
  const run = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (run.error) {
    throw new Error(`promtool could not be run (${run.error.message}): install it with \`bash scripts/services.sh install\` (Debian package prometheus)`);
  }
  return { status: run.status ?? -1, output: `${run.stdout}${run.stderr}` };
}

describe('docker/prometheus and docker/grafana', () => {
  it('alert rules pass promtool check rules', () => {
    const { status, output } = promtool(['check', 'rules', 'alerts.yaml']);
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
    expect(status, output).toBe(0);
  });

  it('alerts fire on the series they are meant for and stay quiet otherwise (promtool test rules)', () => {
    const { status, output } = promtool(['test', 'rules', 'alerts.test.yaml']);
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS');
  });

  it('has an alert for each failure the operators asked for', () => {
    const rules = (parse(readFileSync(join(prometheusDir, 'alerts.yaml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> })
      .groups.flatMap((g) => g.rules);
    const exprOf = (alert: string) => rules.find((r) => r.alert === alert)?.expr ?? '';
    expect(exprOf('TandemCaptureLagHigh')).toContain('tandem_capture_lag_seconds');
    expect(exprOf('TandemReplicationSlotWalGrowing')).toContain('deriv(tandem_replication_slot_retained_bytes');
    expect(exprOf('TandemOldestExceptionOld')).toContain('tandem_exceptions_oldest_age_seconds');
    expect(exprOf('TandemPendingWorkNotShrinking')).toContain('tandem_outbox_depth');
    expect(exprOf('TandemConflictChainVerificationFailed')).toContain('tandem_conflict_chain_verified');
    expect(exprOf('TandemSourceFailed')).toContain('state="failed"');
  });

  it('the Prometheus config is valid and loads the rules', () => {
    const { status, output } = promtool(['check', 'config', 'prometheus.yml']);
    expect(status, output).toBe(0);
    expect(output).toContain('1 rule files found');
  });

  it('every dashboard query is valid PromQL (checked by promtool as recording rules)', () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(20);
    const dir = mkdtempSync(join(tmpdir(), 'tandem-dashboard-'));
    try {
      const rules = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr.replaceAll('$__rate_interval', '5m') }));
      writeFileSync(join(dir, 'dashboard-rules.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
      const { status, output } = promtool(['check', 'rules', 'dashboard-rules.yaml'], dir);
      expect(status, output).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the dashboard has the panels operators asked for, on the provisioned datasource', () => {
    const dashboard = JSON.parse(readFileSync(join(dockerDir, 'grafana/dashboards/tandem.json'), 'utf8')) as { uid: string; panels: Array<{ title: string; datasource?: { uid: string } }> };
    const datasource = parse(readFileSync(join(dockerDir, 'grafana/provisioning/datasources/prometheus.yaml'), 'utf8')) as { datasources: Array<{ uid: string; url: string }> };
    const uid = datasource.datasources[0]!.uid;
    expect(datasource.datasources[0]!.url).toBe('http://prometheus:9090');
    for (const panel of dashboard.panels) if (panel.datasource) expect(panel.datasource.uid, panel.title).toBe(uid);
    const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join('\n');
    for (const wanted of ['capture lag', 'retained wal', 'events per stage', 'latency', 'outbox', 'dead letters by age', 'exceptions', 'conflicts by rule', 'snapshot progress']) {
      expect(titles).toContain(wanted);
    }
  });

  it('compose runs Prometheus with the config and rules, and Grafana provisioned with the datasource and dashboard', () => {
    const compose = parse(readFileSync(join(dockerDir, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, { volumes?: string[] }> };
    const mounts = (service: string) => (compose.services[service]?.volumes ?? []).map((v) => v.split(':').slice(0, 2).join(':'));
    expect(mounts('prometheus')).toEqual(['./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml', './prometheus/alerts.yaml:/etc/prometheus/alerts.yaml']);
    expect(mounts('grafana')).toEqual([
      './grafana/provisioning/datasources:/etc/grafana/provisioning/datasources',
      './grafana/provisioning/dashboards:/etc/grafana/provisioning/dashboards',
      './grafana/dashboards:/var/lib/grafana/dashboards',
    ]);
    const provider = parse(readFileSync(join(dockerDir, 'grafana/provisioning/dashboards/tandem.yaml'), 'utf8')) as { providers: Array<{ options: { path: string } }> };
    expect(provider.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards');
    const prometheus = parse(readFileSync(join(prometheusDir, 'prometheus.yml'), 'utf8')) as { scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> };
    expect(prometheus.scrape_configs[0]!.static_configs[0]!.targets).toEqual(['tandem:9464']);
  });
});
