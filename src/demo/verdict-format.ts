import type { Value } from '../capture';
import type { Mismatch, Verdict } from './verdict';

/** The verdict as the demo prints it: one line per entity, the conflicts, and example mismatches. */
export function formatVerdict(verdict: Verdict): string {
  const lines = [verdict.ok ? 'CONVERGED: ERP and CRM agree on every mapped field.' : 'NOT CONVERGED: ERP and CRM disagree.'];
  lines.push('', `  ${'entity'.padEnd(16)} ${'records'.padStart(8)} ${'fields'.padStart(9)} ${'owned'.padStart(7)} ${'missing'.padStart(8)} ${'mismatch'.padStart(9)}`);
  for (const [name, e] of Object.entries(verdict.entities)) {
    const cells = [e.records, e.fieldsCompared, e.ownerChecks, e.missing, e.mismatches];
    const widths = [8, 9, 7, 8, 9];
    lines.push(`  ${name.padEnd(16)} ${cells.map((c, i) => String(c).padStart(widths[i] ?? 8)).join(' ')}`);
  }
  const c = verdict.compare;
  lines.push('', `  tandem compare run ${c.runId}: ${c.rowsRead} rows read, ${c.rowsHashed} proved equal by range hashes, ${(c.durationMs / 1000).toFixed(1)} s`);
  const rules = Object.entries(verdict.conflictsByRule).map(([rule, n]) => `${rule}: ${n}`);
  lines.push('', `  conflicts logged: ${verdict.conflictsLogged}${rules.length ? ` (${rules.join(', ')})` : ''}`);
  if (verdict.examples.length > 0) {
    lines.push('', '  mismatches (first 20):');
    for (const m of verdict.examples) lines.push(`    ${describeMismatch(m)}`);
  }
  return lines.join('\n');
}

export function describeMismatch(m: Mismatch): string {
  const parts = [`${m.entity} ${m.key} ${m.field}:`];
  if (m.note) parts.push(m.note);
  if ('erp' in m) parts.push(`erp=${show(m.erp)}`);
  if ('crm' in m) parts.push(`crm=${show(m.crm)}`);
  if ('canonical' in m) parts.push(`canonical=${show(m.canonical)}`);
  if ('expected' in m) parts.push(`expected=${show(m.expected)}`);
  return parts.join(' ');
}

function show(value: Value | undefined): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}
