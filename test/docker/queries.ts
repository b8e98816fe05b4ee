import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';

const dockerDir = resolve(import.meta.dirname, '../../docker');

export interface Query {
  where: string;
  expr: string;
}

interface Panel {
  title: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

/** Every PromQL expression of docker/grafana/dashboards/tandem.json, with its panel's title. */
export function dashboardQueries(): Query[] {
  const dashboard = JSON.parse(readFileSync(resolve(dockerDir, 'grafana/dashboards/tandem.json'), 'utf8')) as { panels: Panel[] };
  const out: Query[] = [];
  const visit = (panel: Panel) => {
    for (const target of panel.targets ?? []) if (target.expr) out.push({ where: `dashboard panel "${panel.title}"`, expr: target.expr });
    for (const inner of panel.panels ?? []) visit(inner);
  };
  dashboard.panels.forEach(visit);
  return out;
}

/** Every expression of docker/prometheus/alerts.yaml, with its alert's name. */
export function alertQueries(): Query[] {
  const rules = parse(readFileSync(resolve(dockerDir, 'prometheus/alerts.yaml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));
}

/**
 * The metric names an expression reads: identifiers of tandem's, Node's and
 * the process's families, with a histogram's _bucket/_sum/_count suffix
 * taken off (the family is what /metrics declares).
 */
export function metricNamesOf(expr: string): string[] {
  const names = expr.match(/\b(?:tandem|process|nodejs)_[a-zA-Z0-9_]+/g) ?? [];
  return [...new Set(names.map((n) => n.replace(/_(bucket|sum|count)$/, '')))];
}
