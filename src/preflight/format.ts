import type { PreflightReport } from './finding';

/** The findings as a plain table (severity, system, where, check, finding, what to do) and a summary line. */
export function formatPreflight(result: PreflightReport): string {
  const summary = `${result.errors} error${result.errors === 1 ? '' : 's'}, ${result.warnings} warning${result.warnings === 1 ? '' : 's'}\n`;
  if (result.findings.length === 0) return `every system, table and column checks out\n${summary}`;
  const headers = ['severity', 'system', 'where', 'check', 'finding', 'what to do'];
  const rows = result.findings.map((f) => [
    f.severity, f.system, [f.table, f.column].filter(Boolean).join('.') || '-', f.check, f.message, f.fix,
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), summary].join('');
}
