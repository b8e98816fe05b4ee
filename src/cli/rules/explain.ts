import { compileRules, versionAt, type FieldRule } from '../../conflict';
import type { TandemConfig } from '../../config';
import { UsageError } from '../../errors';
import { EXIT_OK } from '../exit';
import { processIo, runReporting, type Io } from '../io';
import { mappedColumns } from './analysis';
import { readSource } from './check';

export interface ExplainOptions {
  config: string;
}

/** `tandem rules explain <entity>.<field>`: which rule decides the field, and what that means. */
export async function runRulesExplain(target: string, options: ExplainOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const source = readSource(options.config);
    const [entity, field, ...rest] = target.split('.');
    if (!entity || !field || rest.length > 0) throw new UsageError(`expected <entity>.<field>, e.g. customer.credit_limit; got "${target}"`);
    io.out(explainField(source.config, entity, field, (path) => source.lineOf(path)));
    return EXIT_OK;
  });
}

export function explainField(
  config: TandemConfig, entity: string, field: string, lineOf: (path: string) => number | undefined, nowMs = Date.now(),
): string {
  const spec = config.entities[entity];
  if (!spec) throw new UsageError(`unknown entity "${entity}" (entities: ${Object.keys(config.entities).join(', ')})`);
  const systems = mappedColumns(config).get(entity)?.get(field);
  const group = Object.entries(spec.groups).find(([, g]) => g.fields.includes(field))?.[0];
  const via = field in spec.fields ? `direct rule entities.${entity}.fields.${field}`
    : group ? `group entities.${entity}.groups.${group}` : `entity default entities.${entity}.owner`;
  if (!systems && via.startsWith('entity default')) throw new UsageError(`${entity} has no field "${field}": no mapping maps it and no rule names it`);
  const versions = compileRules({ [entity]: spec }, '', config.cutovers).entity(entity).versions(field);
  const path = via.split(' ').at(-1)!;
  const lines: Array<[string, string]> = [['decided by', `${via} (line ${lineOf(path) ?? '?'})`]];
  if (versions.length === 1) lines.push(...ruleLines(versions[0]!.rule, config, entity));
  else {
    const current = versionAt(versions, nowMs);
    lines.push(['versions', `${versions.length}: a change is judged by the version in force at its source commit time`]);
    versions.forEach((version, i) => {
      const next = versions[i + 1];
      const span = `${version.from === null ? 'from the start' : `from ${when(version.from, version.fromMs!)}`}${next ? ` until ${when(next.from!, next.fromMs!)}` : ''}`;
      lines.push([`version ${version.rule.version ?? i}`, `${span}${version === current ? ' (in force now)' : ''}`]);
      lines.push(...ruleLines(version.rule, config, entity).map(([name, value]): [string, string] => [`  ${name}`, value]));
    });
  }
  lines.push(['mapped by', systems ? [...systems].map(([system, column]) => `${system} (${column})`).join(', ') : 'no system: the rule can never apply (unreachable)']);
  const only = versions.length === 1 ? versions[0]!.rule : undefined;
  if (only && only.version === undefined) lines.push(['logged as', `rule "${only.name}"`]);
  const width = Math.max(...lines.map(([name]) => name.length));
  return `${entity}.${field}\n${lines.map(([name, value]) => `  ${name.padEnd(width)}  ${value}\n`).join('')}`;
}

/** A cutover name with its time, or an ISO time as written. */
function when(from: string, fromMs: number): string {
  return /^\d/.test(from) ? from : `${from} (${new Date(fromMs).toISOString()})`;
}

function ruleLines(rule: FieldRule, config: TandemConfig, entity: string): Array<[string, string]> {
  const lines: Array<[string, string]> = [['policy', policyText(rule, config, entity)], ...transitionLines(rule), ['corrections', correctionText(rule)]];
  if (rule.version !== undefined) lines.push(['logged as', `rule "${rule.name}", version ${rule.version}`]);
  return lines;
}

function policyText(rule: FieldRule, config: TandemConfig, entity: string): string {
  switch (rule.kind) {
    case 'owner':
      return `owner=${rule.owner}: only ${rule.owner} changes it; a change by another system is rejected and logged (a field nobody has set yet takes its first value from anyone)`;
    case 'latest-wins': {
      const priority = config.entities[entity]!.priority;
      return `latest-wins: concurrent edits are won by the later commit (ties: ${priority.length ? priority.join(' before ') : 'no priority set'}); an edit made on top of the current value is simply accepted`;
    }
    case 'max':
    case 'min':
      return `${rule.kind}: the ${rule.kind === 'max' ? 'larger' : 'smaller'} value wins`;
    case 'first-wins':
      return 'first-wins: the system that set it first keeps it; others are rejected';
    case 'manual':
      return 'manual: every change to a set value is held for review (tandem conflicts pending / resolve); the current value stays meanwhile';
  }
}

function transitionLines(rule: FieldRule): Array<[string, string]> {
  if (rule.kind !== 'owner' || rule.transitions.size === 0) return [];
  return [...rule.transitions].map(([system, list]) => [`transitions ${system}`, list.map((t) => `${t.from} -> ${t.to}`).join(', ')]);
}

function correctionText(rule: FieldRule): string {
  if (rule.kind === 'owner') return rule.correct ? 'on: the owner\u2019s value is written back to a system whose change is rejected' : 'off: a rejected change stays in the system that made it';
  if (rule.kind === 'manual') return 'none until a review; then the decided value goes to every system mapping the field';
  return 'always: the losing system receives the kept value';
}
