import { checkConsistency, type EntitySpec, type FieldRuleSpec, type TandemConfig } from '../../config';
import { mappedColumns } from '../../conflict';

export { mappedColumns };

export interface Finding {
  severity: 'error' | 'warning' | 'info';
  /** Path inside the configuration, e.g. `entities.customer.fields.name.owner`. */
  path: string;
  message: string;
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
    if (mapped) findings.push(...analyseEntity(entity, spec, mapped, new Set(Object.keys(config.systems))));
  }
  return findings;
}

/** Unknown system names are left to the consistency check, so each mistake is reported once. */
function analyseEntity(entity: string, spec: EntitySpec, mapped: Map<string, Map<string, string>>, known: Set<string>): Finding[] {
  const findings: Finding[] = [];
  const at = `entities.${entity}`;
  const ruled = new Set<string>();
  const rules: Array<{ fields: string[]; rule: FieldRuleSpec; path: string }> = [
    ...Object.entries(spec.fields).map(([field, rule]) => ({ fields: [field], rule, path: `${at}.fields.${field}` })),
    ...Object.entries(spec.groups).map(([group, rule]) => ({ fields: rule.fields, rule, path: `${at}.groups.${group}` })),
  ];
  for (const { fields, rule, path } of rules) {
    const policy = rule.policy ?? 'owner';
    const owner = rule.owner ?? spec.owner;
    fields.forEach((field, i) => {
      ruled.add(field);
      const systems = mapped.get(field);
      if (!systems) return; // unmapped: the consistency check reports it
      const fieldPath = path.includes('.groups.') ? `${path}.fields[${i}]` : path;
      if (policy === 'owner' && known.has(owner) && !systems.has(owner)) {
        findings.push({ severity: 'error', path: rule.owner ? `${path}.owner` : fieldPath, message: unownable(entity, field, owner, systems) });
      }
      for (const system of Object.keys(rule.transitions ?? {})) {
        const where = `${path}.transitions.${system}`;
        if (!known.has(system)) continue;
        if (!systems.has(system)) findings.push({ severity: 'error', path: where, message: `${system} has transitions for ${entity}.${field} but does not map that field, so they can never apply` });
        else if (system === owner) findings.push({ severity: 'warning', path: where, message: `${system} owns ${entity}.${field} and may make any transition; this list is never consulted` });
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

function unownable(entity: string, field: string, owner: string, systems: Map<string, string>): string {
  return `${entity}.${field} is owned by ${owner}, which does not map it: after its first value nobody could ever change it (mapped by ${[...systems.keys()].join(', ')})`;
}
