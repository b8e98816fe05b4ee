import type { EntitySpec } from '../config';
import { ConfigError } from '../errors';

/** How one field is decided. */
export type FieldRule =
  | { kind: 'owner'; owner: string; correct: boolean; name: string }
  | { kind: 'latest-wins'; priority: readonly string[]; name: string };

export interface EntityRules {
  entity: string;
  /** Owns the record's existence (creates and deletes) and every field without a rule. */
  owner: string;
  correct: boolean;
  field(name: string): FieldRule;
}

/** The compiled ownership rules, with the version (hash of the rules file) that the conflict log records. */
export interface RuleBook {
  version: string;
  entity(name: string): EntityRules;
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
  };
}

function compileEntity(entity: string, spec: EntitySpec): EntityRules {
  const rules = new Map<string, FieldRule>();
  for (const [field, rule] of Object.entries(spec.fields)) {
    if (rule.policy === 'latest-wins') {
      rules.set(field, { kind: 'latest-wins', priority: spec.priority, name: `${entity}.${field} latest-wins` });
    } else {
      const owner = rule.owner ?? spec.owner;
      rules.set(field, { kind: 'owner', owner, correct: rule.correct ?? spec.correct, name: `${entity}.${field} owner=${owner}` });
    }
  }
  const fallback = (field: string): FieldRule => ({
    kind: 'owner',
    owner: spec.owner,
    correct: spec.correct,
    name: `${entity}.${field} owner=${spec.owner} (entity default)`,
  });
  return {
    entity,
    owner: spec.owner,
    correct: spec.correct,
    field: (name) => rules.get(name) ?? fallback(name),
  };
}
