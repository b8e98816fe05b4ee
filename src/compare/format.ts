/** `tandem compare` output: a table for people, CSV and JSON for tools. */
import type { Value } from '../capture';
import type { CompareReport, Difference, EntityReport } from './types';

export type CompareFormat = 'table' | 'csv' | 'json';

export function formatReport(report: CompareReport, format: CompareFormat): string {
  if (format === 'json') return `${JSON.stringify(report, (_k, v: unknown) => (v === undefined ? null : v), 2)}\n`;
  if (format === 'csv') return formatCsv(report);
  return formatTable(report);
}

function formatTable(report: CompareReport): string {
  const lines: string[] = [report.agreed ? 'AGREE: every compared system holds what the rules say.' : 'DIFFER: systems hold values the rules say they should not.'];
  lines.push('', `  ${'entity'.padEnd(16)} ${'method'.padEnd(8)} ${'records'.padStart(8)} ${'hashed'.padStart(8)} ${'read'.padStart(8)} ${'mismatch'.padStart(9)} ${'missing'.padStart(8)} ${'unlinked'.padStart(9)} ${'deleted'.padStart(8)} ${'fields'.padStart(7)} ${'explained'.padStart(10)} ${'ms'.padStart(7)}`);
  for (const e of report.entities) {
    const cells: Array<[string | number, number]> = [
      [e.records, 8], [e.rowsHashed, 8], [e.rowsRead, 8], [e.recordsMismatched, 9], [e.byKind.missing, 8], [e.byKind.unlinked, 9],
      [e.byKind.deleted, 8], [e.byKind.field, 7], [e.explained, 10], [e.durationMs, 7],
    ];
    lines.push(`  ${e.entity.padEnd(16)} ${e.method.padEnd(8)} ${cells.map(([c, w]) => String(c).padStart(w)).join(' ')}`);
  }
  for (const e of report.entities) lines.push(...ratioLines(e));
  const listed = report.entities.flatMap((e) => e.differences);
  if (listed.length > 0) {
    lines.push('', '  differences:');
    for (const d of listed) lines.push(`    ${describeDifference(d)}`);
  }
  if (report.repairs) {
    const r = report.repairs;
    lines.push('', `  repair (run ${report.runId}): ${r.tasks} write${r.tasks === 1 ? '' : 's'} queued in the outbox, ${r.records} canonical record${r.records === 1 ? '' : 's'} corrected, ${r.logged} conflict-log entr${r.logged === 1 ? 'y' : 'ies'} (decision repair)`);
    if (r.skippedTotal > 0) {
      lines.push(`  not repaired: ${r.skippedTotal}`);
      for (const s of r.skipped) lines.push(`    ${s.entity} ${s.key}: ${s.reason}`);
    }
    if (r.tasks > 0) lines.push('  the writes are delivered by the running service (tandem run); compare again once they are applied.');
  }
  return `${lines.join('\n')}\n`;
}

/** Share of records whose field differs, for the fields that differ anywhere. */
function ratioLines(e: EntityReport): string[] {
  const fields = Object.entries(e.fieldsMismatched);
  if (fields.length === 0 || e.records === 0) return [];
  return [`  ${e.entity}: ${fields.map(([f, n]) => `${f} ${n} (${((100 * n) / e.records).toFixed(2)} %)`).join(', ')}`];
}

export function describeDifference(d: Difference): string {
  const parts = [`${d.entity} ${d.key}`];
  if (d.kind === 'field') {
    parts.push(`${d.field}: differs in ${d.wrong.join(', ')};`);
    parts.push(Object.entries(d.values).map(([s, v]) => `${s}=${show(v)}`).join(' '));
    parts.push(`; right: ${show(d.right.value)} (${d.right.by})`);
  } else {
    const where = Object.entries(d.localKeys).map(([s, k]) => `${s} ${k}`).join(', ');
    const text = { missing: `missing in ${d.wrong.join(', ')}`, unlinked: `unlinked row in ${d.wrong.join(', ')}`, deleted: `row of a deleted record in ${d.wrong.join(', ')}` }[d.kind];
    parts.push(`${text}${where ? ` (${where})` : ''}: ${d.right.by}`);
  }
  if (d.explained) parts.push(`[explained: ${d.explained.by} #${d.explained.id} ${d.explained.status}]`);
  return parts.join(' ');
}

function formatCsv(report: CompareReport): string {
  const header = ['entity', 'kind', 'key', 'field', 'wrong', 'right', 'right_by', 'values', 'local_keys', 'explained_by', 'explained_id'];
  const rows = report.entities.flatMap((e) => e.differences).map((d) => [
    d.entity, d.kind, d.key, d.field ?? '', d.wrong.join(' '), d.kind === 'field' ? JSON.stringify(d.right.value ?? null) : '', d.right.by,
    JSON.stringify(d.values), JSON.stringify(d.localKeys), d.explained?.by ?? '', d.explained?.id ?? '',
  ]);
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function show(value: Value | undefined): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}
