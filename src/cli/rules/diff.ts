import { compileRules, type EntityRules, type FieldRule, type RuleVersion } from '../../conflict';
import type { TandemConfig } from '../../config';
import { EXIT_OK } from '../exit';
import { processIo, runReporting, type Io } from '../io';
import { mappedColumns } from './analysis';
import { readSource } from './check';
import { cutoverChanges } from './simulate';

export interface DiffOptions {
  json?: boolean;
}

/** One field (or an entity's own setting) whose rule differs between the two files. */
export interface RuleChange {
  entity: string;
  /** A field, or `(existence)`, `(correct)`, `(create)`, `(priority)`, `(entity)` for the entity's own settings. */
  field: string;
  old: string;
  new: string;
}

export interface RulesDiff {
  /** Cutover name → [old at, new at]; null where the file has none. */
  cutovers: Record<string, [string | null, string | null]>;
  changes: RuleChange[];
}

/** `tandem rules diff <old> <new>`: every field whose owner or policy changes, and cutover schedule changes. */
export async function runRulesDiff(oldFile: string, newFile: string, options: DiffOptions = {}, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const diff = diffRules(readSource(oldFile).config, readSource(newFile).config);
    io.out(options.json ? `${JSON.stringify(diff, null, 2)}\n` : describeDiff(diff, oldFile, newFile));
    return EXIT_OK;
  });
}

type RuleConfig = Pick<TandemConfig, 'entities' | 'cutovers' | 'mappings'>;

export function diffRules(before: RuleConfig, after: RuleConfig): RulesDiff {
  const changes: RuleChange[] = [];
  const oldBook = compileRules(before.entities, '', before.cutovers);
  const newBook = compileRules(after.entities, '', after.cutovers);
  const oldFields = mappedColumns(before as TandemConfig);
  const newFields = mappedColumns(after as TandemConfig);
  for (const entity of new Set([...Object.keys(before.entities), ...Object.keys(after.entities)])) {
    const [a, b] = [before.entities[entity], after.entities[entity]];
    if (!a || !b) {
      changes.push({ entity, field: '(entity)', old: a ? 'ruled' : 'no rules', new: b ? 'ruled' : 'no rules' });
      continue;
    }
    const settings: Array<[string, unknown, unknown]> = [
      ['(existence)', `owner=${a.owner}`, `owner=${b.owner}`],
      ['(correct)', a.correct, b.correct],
      ['(create)', a.create?.join(', ') ?? 'any system', b.create?.join(', ') ?? 'any system'],
      ['(priority)', a.priority.join(', ') || 'none', b.priority.join(', ') || 'none'],
    ];
    for (const [field, x, y] of settings) if (x !== y) changes.push({ entity, field, old: String(x), new: String(y) });
    const oldRules = oldBook.entity(entity);
    const newRules = newBook.entity(entity);
    const fields = new Set([
      ...oldRules.ruledFields(), ...newRules.ruledFields(),
      ...(oldFields.get(entity)?.keys() ?? []), ...(newFields.get(entity)?.keys() ?? []),
    ]);
    for (const field of [...fields].sort()) {
      const [x, y] = [timeline(oldRules, field), timeline(newRules, field)];
      if (x !== y) changes.push({ entity, field, old: x, new: y });
    }
  }
  return { cutovers: cutoverChanges(before.cutovers, after.cutovers), changes };
}

/** A field's rules over time, as text that is equal exactly when they decide alike. */
function timeline(rules: EntityRules, field: string): string {
  const versions = rules.versions(field);
  return versions.map((version, i) => `${i === 0 ? '' : `from ${effective(version)}: `}${describeRule(version.rule)}`).join('; then ');
}

function effective(version: RuleVersion): string {
  const at = new Date(version.fromMs!).toISOString();
  return version.from !== null && !/^\d/.test(version.from) ? `${version.from} (${at})` : at;
}

/** What a rule decides, without its name (which says where it is written, not what it does). */
export function describeRule(rule: FieldRule): string {
  switch (rule.kind) {
    case 'owner': {
      const transitions = [...rule.transitions].map(([system, list]) => `${system}: ${list.map((t) => `${t.from} -> ${t.to}`).join(', ')}`);
      return `owner=${rule.owner}${rule.correct ? '' : ' (no corrections)'}${transitions.length ? ` (transitions ${transitions.join('; ')})` : ''}`;
    }
    case 'latest-wins':
      return `latest-wins${rule.priority.length ? ` (ties: ${rule.priority.join(' before ')})` : ''}`;
    default:
      return rule.kind;
  }
}

export function describeDiff(diff: RulesDiff, oldFile: string, newFile: string): string {
  const lines = [`rules of ${oldFile} → ${newFile}\n`];
  const cutovers = Object.entries(diff.cutovers);
  if (cutovers.length > 0) {
    lines.push('cutovers:\n');
    for (const [name, [from, to]] of cutovers) lines.push(`  ${name}: ${from ?? 'none'} → ${to ?? 'none'}\n`);
  }
  for (const change of diff.changes) {
    lines.push(`${change.entity}.${change.field}\n  old: ${change.old}\n  new: ${change.new}\n`);
  }
  const fields = diff.changes.length;
  lines.push(`${fields} rule${fields === 1 ? '' : 's'} and ${cutovers.length} cutover${cutovers.length === 1 ? '' : 's'} change\n`);
  return lines.join('');
}
