import type { EntitySpec, FieldRuleSpec } from '../config';
import { ConfigError } from '../errors';

/** A workflow transition a system may make; `*` matches any state. */
export interface Transition {
  from: string;
  to: string;
}

/** How one field is decided. `name` is what the conflict log records as the rule. */
export type FieldRule =
  | { kind: 'owner'; owner: string; correct: boolean; name: string; transitions: ReadonlyMap<string, readonly Transition[]> }
  | { kind: 'latest-wins'; priority: readonly string[]; name: string }
  | { kind: 'max' | 'min' | 'first-wins'; name: string }
  | { kind: 'manual'; name: string };

export interface EntityRules {
  entity: string;
  /** Owns the record's existence (creates and deletes) and every field without a rule. */
  owner: string;
  correct: boolean;
  /** Systems that may create records (`create:`); null: any system may. */
  creators: ReadonlySet<string> | null;
  field(name: string): FieldRule;
  /** Fields with a rule of their own (directly or through a group). */
  ruledFields(): string[];
}

/** The compiled ownership rules, with the version (hash of the rules file) that the conflict log records. */
export interface RuleBook {
  version: string;
  entity(name: string): EntityRules;
  entities(): string[];
}

export function compileRules(entities: Record<string, EntitySpec>, version: string): RuleBook {
  const compiled = new Map<string, EntityRules>();
  for (const [entity, spec] of Object.entries(entities)) compiled.set(entity, compileEntity(entity, spec));
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

function compileEntity(entity: string, spec: EntitySpec): EntityRules {
  const rules = new Map<string, FieldRule>();
  for (const [field, { rule, via }] of fieldRuleSpecs(entity, spec)) rules.set(field, compileField(entity, field, rule, spec, via));
  const fallback = (field: string): FieldRule => ({
    kind: 'owner', owner: spec.owner, correct: spec.correct, transitions: new Map(),
    name: `${entity}.${field} owner=${spec.owner} (entity default)`,
  });
  return {
    entity,
    owner: spec.owner,
    correct: spec.correct,
    creators: spec.create ? new Set(spec.create) : null,
    field: (name) => rules.get(name) ?? fallback(name),
    ruledFields: () => [...rules.keys()],
  };
}

function compileField(entity: string, field: string, rule: FieldRuleSpec, spec: EntitySpec, via: string): FieldRule {
  const label = via.startsWith('groups.') ? `${entity}.${field} (${via})` : `${entity}.${field}`;
  const policy = rule.policy ?? 'owner';
  if (policy === 'latest-wins') return { kind: 'latest-wins', priority: spec.priority, name: `${label} latest-wins` };
  if (policy === 'max' || policy === 'min' || policy === 'first-wins' || policy === 'manual') return { kind: policy, name: `${label} ${policy}` } as FieldRule;
  const owner = rule.owner ?? spec.owner;
  const transitions = new Map(Object.entries(rule.transitions ?? {}).map(([system, list]) => [system, list.map(parseTransition)]));
  const workflow = transitions.size > 0 ? ' workflow' : '';
  return { kind: 'owner', owner, correct: rule.correct ?? spec.correct, transitions, name: `${label} owner=${owner}${workflow}` };
}

function parseTransition(text: string): Transition {
  const [from, to] = text.split('->').map((s) => s.trim()) as [string, string];
  return { from, to };
}

/** Whether `system` may move a workflow field from `from` to `to` under its transition list. */
export function allowsTransition(transitions: readonly Transition[] | undefined, from: string, to: string): boolean {
  return (transitions ?? []).some((t) => (t.from === '*' || t.from === from) && (t.to === '*' || t.to === to));
}
