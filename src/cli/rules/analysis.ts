import { checkConsistency, ownerVersionsOf, type EntitySpec, type FieldRuleSpec, type TandemConfig } from '../../config';

export interface Finding {
  severity: 'error' | 'warning' | 'info';
  /** Path inside the configuration, e.g. `entities.customer.fields.name.owner`. */
  path: string;
  message: string;
}

/** Per entity: field → system → column, over every mapping. */
export function mappedColumns(config: TandemConfig): Map<string, Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, Map<string, string>>>();
  for (const mapping of config.mappings) {
    const fields = out.get(mapping.entity) ?? new Map<string, Map<string, string>>();
    out.set(mapping.entity, fields);
    for (const [field, spec] of Object.entries(mapping.fields)) {
      const systems = fields.get(field) ?? new Map<string, string>();
      fields.set(field, systems);
      systems.set(mapping.system, `${mapping.table}.${typeof spec === 'string' ? spec : spec.column}`);
    }
  }
  return out;
}

/**
 * Everything `tandem rules check` reports: the loader's cross-checks (unknown
 * names, overlapping rules, rules for unmapped fields) as errors, and what
 * makes a rule useless or surprising given the mappings.
 */
export function analyseRules(config: TandemConfig): Finding[] {
  const findings: Finding[] = checkConsistency(config).map((p) => ({ severity: 'error', ...p }));
  const columns = mappedColumns(config);
  for (const [entity, spec] of Object.entries(config.entities)) {
    const mapped = columns.get(entity);
    if (mapped) findings.push(...analyseEntity(entity, spec, mapped, new Set(Object.keys(config.systems)), capturedSystems(config)));
  }
  return findings;
}

/** Unknown system names are left to the consistency check, so each mistake is reported once. */
function analyseEntity(entity: string, spec: EntitySpec, mapped: Map<string, Map<string, string>>, known: Set<string>, captured: Set<string>): Finding[] {
  const findings: Finding[] = [];
  const at = `entities.${entity}`;
  const ruled = new Set<string>();
  const rules: Array<{ fields: string[]; rule: FieldRuleSpec; path: string }> = [
    ...Object.entries(spec.fields).map(([field, rule]) => ({ fields: [field], rule, path: `${at}.fields.${field}` })),
    ...Object.entries(spec.groups).map(([group, rule]) => ({ fields: rule.fields, rule, path: `${at}.groups.${group}` })),
  ];
  for (const { fields, rule, path } of rules) {
    const policy = rule.policy ?? 'owner';
    fields.forEach((field, i) => {
      ruled.add(field);
      const systems = mapped.get(field);
      if (!systems) return; // unmapped: the consistency check reports it
      const fieldPath = path.includes('.groups.') ? `${path}.fields[${i}]` : path;
      const timeline = ownerTimeline(rule, spec.owner, path, fieldPath);
      for (const { owner, at } of timeline) {
        if (policy === 'owner' && known.has(owner) && !systems.has(owner)) {
          findings.push({ severity: 'error', path: at, message: unownable(entity, field, owner, systems) });
        } else if (policy === 'owner' && Array.isArray(rule.owner) && known.has(owner) && !captured.has(owner)) {
          // Legitimate (a target-only system whose values tandem already holds), but worth saying once per version.
          findings.push({ severity: 'warning', path: at, message: `${owner} owns ${entity}.${field} for a time but is not captured (no capture, no debezium): meanwhile no change to it reaches tandem from anywhere, and every other system's is rejected` });
        }
      }
      // A transition list may serve several owner versions: it is dead only if its system owns in every one.
      const lists = new Map<string, { transitions: Record<string, string[]>; owners: Set<string> }>();
      for (const { owner, transitions, transitionsAt } of timeline) {
        if (!transitions) continue;
        const list = lists.get(transitionsAt) ?? { transitions, owners: new Set<string>() };
        list.owners.add(owner);
        lists.set(transitionsAt, list);
      }
      for (const [transitionsAt, { transitions, owners }] of lists) {
        for (const system of Object.keys(transitions)) {
          const where = `${transitionsAt}.${system}`;
          if (!known.has(system)) continue;
          if (!systems.has(system)) findings.push({ severity: 'error', path: where, message: `${system} has transitions for ${entity}.${field} but does not map that field, so they can never apply` });
          else if (owners.size === 1 && owners.has(system)) findings.push({ severity: 'warning', path: where, message: `${system} owns ${entity}.${field} and may make any transition; this list is never consulted` });
        }
      }
    });
    if (rule.correct !== undefined && policy !== 'owner') {
      const effect = policy === 'manual' ? 'held changes are never corrected until a review' : 'the loser always receives the kept value';
      findings.push({ severity: 'warning', path: `${path}.correct`, message: `correct has no effect under ${policy}: ${effect}` });
    }
  }
  const shared: string[] = [];
  for (const [field, systems] of mapped) {
    if (ruled.has(field)) continue;
    if (known.has(spec.owner) && !systems.has(spec.owner)) {
      findings.push({ severity: 'error', path: `${at}.owner`, message: `${entity}.${field} has no rule and falls to the entity owner: ${unownable(entity, field, spec.owner, systems)}` });
    } else if (systems.size > 1) shared.push(field);
  }
  if (shared.length > 0) {
    // Usually intended (the owner's master data mirrored elsewhere); worth a look, not an error.
    findings.push({ severity: 'info', path: at, message: `${shared.join(', ')} ${shared.length === 1 ? 'is' : 'are'} mapped by several systems and only the entity default (owner=${spec.owner}) decides ${shared.length === 1 ? 'it' : 'them'}` });
  }
  return findings;
}

/** Systems whose changes reach tandem (native capture or Debezium). */
function capturedSystems(config: TandemConfig): Set<string> {
  return new Set(Object.entries(config.systems).filter(([, system]) => system.capture !== undefined || system.debezium !== undefined).map(([name]) => name));
}

/** Each owner a rule gives a field over time, with where it is written and the transitions that apply while it owns. */
function ownerTimeline(rule: FieldRuleSpec, entityOwner: string, path: string, fieldPath: string) {
  const versions = ownerVersionsOf(rule);
  if (!versions) {
    const owner = typeof rule.owner === 'string' ? rule.owner : entityOwner;
    return [{ owner, at: rule.owner ? `${path}.owner` : fieldPath, transitions: rule.transitions, transitionsAt: `${path}.transitions` }];
  }
  // Shared versions (a policy instead of a system) have no owner to check.
  return versions.flatMap((version, i) => (version.system === undefined ? [] : [{
    owner: version.system,
    at: `${path}.owner[${i}].system`,
    transitions: version.transitions ?? rule.transitions,
    transitionsAt: version.transitions ? `${path}.owner[${i}].transitions` : `${path}.transitions`,
  }]));
}

function unownable(entity: string, field: string, owner: string, systems: Map<string, string>): string {
  return `${entity}.${field} is owned by ${owner}, which does not map it: after its first value nobody could ever change it (mapped by ${[...systems.keys()].join(', ')})`;
}
