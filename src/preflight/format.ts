import type { PreflightReport } from './finding';

/**
 * The findings as a plain table (severity, system, where, check, finding),
 * what to do under each finding, and a summary line.
 */
export function formatPreflight(result: PreflightReport): string {
  const summary = `${result.errors} error${result.errors === 1 ? '' : 's'}, ${result.warnings} warning${result.warnings === 1 ? '' : 's'}\n`;
  if (result.findings.length === 0) return `every system, table and column checks out\n${summary}`;
  const headers = ['severity', 'system', 'where', 'check', 'finding'];
  const rows = result.findings.map((f) => [f.severity, f.system, [f.table, f.column].filter(Boolean).join('.') || '-', f.check, f.message]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const indent = ' '.repeat(widths.slice(0, 4).reduce((a, w) => a + w + 2, 0));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
  const body = rows.map((row, i) => `${line(row)}${indent}→ ${result.findings[i]!.fix}\n`);
  return [line(headers), line(widths.map((w, i) => '-'.repeat(i === 4 ? Math.min(w, 40) : w))), ...body, summary].join('');
}
