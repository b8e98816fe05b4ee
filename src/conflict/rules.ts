import { ownerVersionsOf, resolveOwnerVersions, type CutoverSpec, type EntitySpec, type FieldRuleSpec } from '../config';
import { ConfigError } from '../errors';

/** A workflow transition a system may make; `*` matches any state. */
export interface Transition {
  from: string;
  to: string;
}

/**
 * How one field is decided. `name` is what the conflict log records as the
 * rule; `version` (`customer.credit_limit@wave1`) is set for a field whose
 * rule changes over time, and recorded with each conflict it decides.
 */
export type FieldRule = (
  | { kind: 'owner'; owner: string; correct: boolean; name: string; transitions: ReadonlyMap<string, readonly Transition[]> }
  | { kind: 'latest-wins'; priority: readonly string[]; name: string }
  | { kind: 'max' | 'min' | 'first-wins'; name: string }
  | { kind: 'manual'; name: string }
) & { version?: string };

/** One version of a field's rule and the commit time from which it is in force. */
export interface RuleVersion {
  /** null: in force before every cutover (the first version). */
  fromMs: number | null;
  /** The cutover name or ISO time the version was written with; null for the first. */
  from: string | null;
  rule: FieldRule;
}

export interface EntityRules {
  entity: string;
  /** Owns the record's existence (creates and deletes) and every field without a rule. */
  owner: string;
  correct: boolean;
  /** Systems that may create records (`create:`); null: any system may. */
  creators: ReadonlySet<string> | null;
  /** The rule in force for a change committed at `atMs` (source commit time, ms since the epoch). */
  field(name: string, atMs: number): FieldRule;
  /** Every version of the field's rule, oldest first; one for a rule that never changes. */
  versions(name: string): readonly RuleVersion[];
  /** Fields with a rule of their own (directly or through a group). */
  ruledFields(): string[];
}

/** The compiled ownership rules, with the version (hash of the rules file) that the conflict log records. */
export interface RuleBook {
  version: string;
  entity(name: string): EntityRules;
  entities(): string[];
}

/**
 * The version in force at `atMs`: the last one whose effective point is at
 * or before it. Versions are in time order and the first has none (it holds
 * before every cutover), so there always is one.
 */
export function versionAt<V extends { fromMs: number | null }>(versions: readonly V[], atMs: number): V {
  let found = versions[0]!;
  for (const version of versions) if (version.fromMs === null || version.fromMs <= atMs) found = version;
  return found;
}

export function compileRules(entities: Record<string, EntitySpec>, version: string, cutovers: Readonly<Record<string, CutoverSpec>> = {}): RuleBook {
  const compiled = new Map<string, EntityRules>();
  for (const [entity, spec] of Object.entries(entities)) compiled.set(entity, compileEntity(entity, spec, cutovers));
  return {
    version,
    entity(name) {
      const rules = compiled.get(name);
      if (!rules) throw new ConfigError(`no ownership rules for entity ${name}`, { entity: name });
      return rules;
    },
    entities: () => [...compiled.keys()],
  };
}

/** Field rules, with groups expanded; a field ruled twice is a configuration error. */
export function fieldRuleSpecs(entity: string, spec: EntitySpec): Map<string, { rule: FieldRuleSpec; via: string }> {
  const specs = new Map<string, { rule: FieldRuleSpec; via: string }>();
  const add = (field: string, rule: FieldRuleSpec, via: string) => {
    const other = specs.get(field);
    if (other) throw new ConfigError(`field ${entity}.${field} has two rules (${other.via} and ${via})`, { entity, path: `entities.${entity}` });
    specs.set(field, { rule, via });
  };
  for (const [field, rule] of Object.entries(spec.fields)) add(field, rule, `fields.${field}`);
  for (const [group, { fields, ...rule }] of Object.entries(spec.groups)) for (const field of fields) add(field, rule, `groups.${group}`);
  return specs;
}

function compileEntity(entity: string, spec: EntitySpec, cutovers: Readonly<Record<string, CutoverSpec>>): EntityRules {
  const rules = new Map<string, readonly RuleVersion[]>();
  for (const [field, { rule, via }] of fieldRuleSpecs(entity, spec)) rules.set(field, compileField(entity, field, rule, spec, via, cutovers));
  const fallback = (field: string): RuleVersion[] => [{
    fromMs: null, from: null,
    rule: { kind: 'owner', owner: spec.owner, correct: spec.correct, transitions: new Map(), name: `${entity}.${field} owner=${spec.owner} (entity default)` },
  }];
  const versions = (name: string) => rules.get(name) ?? fallback(name);
  return {
    entity,
    owner: spec.owner,
    correct: spec.correct,
    creators: spec.create ? new Set(spec.create) : null,
    field: (name, atMs) => versionAt(versions(name), atMs).rule,
    versions,
    ruledFields: () => [...rules.keys()],
  };
}

function compileField(
  entity: string, field: string, rule: FieldRuleSpec, spec: EntitySpec, via: string, cutovers: Readonly<Record<string, CutoverSpec>>,
): RuleVersion[] {
  const group = via.startsWith('groups.') ? ` (${via})` : '';
  const label = `${entity}.${field}${group}`;
  const policy = rule.policy ?? 'owner';
  if (policy !== 'owner') return [unversioned(sharedRule(label, policy, spec))];
  const owners = ownerVersionsOf(rule);
  if (!owners) {
    const owner = typeof rule.owner === 'string' ? rule.owner : spec.owner;
    return [unversioned(ownerRule(label, owner, rule.correct ?? spec.correct, rule.transitions))];
  }
  const { versions, problems } = resolveOwnerVersions(owners, cutovers, `entities.${entity}.${via}`);
  const problem = problems[0];
  if (problem) throw new ConfigError(problem.message, { entity, path: problem.path });
  return versions.map((v) => {
    const version = `${entity}.${field}@${v.from ?? 'initial'}`;
    const compiled = v.system === undefined
      ? sharedRule(`${version}${group}`, v.policy!, spec)
      : ownerRule(`${version}${group}`, v.system, v.correct ?? rule.correct ?? spec.correct, v.transitions ?? rule.transitions);
    return { fromMs: v.fromMs, from: v.from ?? null, rule: { ...compiled, version } };
  });
}

function sharedRule(label: string, policy: 'latest-wins' | 'max' | 'min' | 'first-wins' | 'manual', spec: EntitySpec): FieldRule {
  if (policy === 'latest-wins') return { kind: 'latest-wins', priority: spec.priority, name: `${label} latest-wins` };
  return { kind: policy, name: `${label} ${policy}` };
}

function unversioned(rule: FieldRule): RuleVersion {
  return { fromMs: null, from: null, rule };
}

function ownerRule(label: string, owner: string, correct: boolean, transitionSpec: Record<string, string[]> | undefined): FieldRule {
  const transitions = new Map(Object.entries(transitionSpec ?? {}).map(([system, list]) => [system, list.map(parseTransition)]));
  const workflow = transitions.size > 0 ? ' workflow' : '';
  return { kind: 'owner', owner, correct, transitions, name: `${label} owner=${owner}${workflow}` };
}

function parseTransition(text: string): Transition {
  const [from, to] = text.split('->').map((s) => s.trim()) as [string, string];
  return { from, to };
}

/** Whether `system` may move a workflow field from `from` to `to` under its transition list. */
export function allowsTransition(transitions: readonly Transition[] | undefined, from: string, to: string): boolean {
  return (transitions ?? []).some((t) => (t.from === '*' || t.from === from) && (t.to === '*' || t.to === to));
}
