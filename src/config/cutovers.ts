import type { CutoverSpec, FieldRuleSpec, OwnerVersionSpec, TandemConfig } from './spec';
import type { Problem } from './consistency';

/** One owner version with its effective point resolved: `fromMs` null for the first (in force before any cutover). */
export interface ResolvedOwnerVersion extends OwnerVersionSpec {
  fromMs: number | null;
}

/**
 * A field rule's owners over time, first to last; the plain form
 * (`owner: crm`, or no owner) is one version. `undefined` owner: the entity's.
 */
export function ownerVersionsOf(rule: Pick<FieldRuleSpec, 'owner'>): OwnerVersionSpec[] | null {
  if (Array.isArray(rule.owner)) return rule.owner;
  return null;
}

/** Every system that owns the field at some time (the entity owner when the rule names none); shared versions own nothing. */
export function ownersOf(rule: Pick<FieldRuleSpec, 'owner'>, entityOwner: string): string[] {
  const versions = ownerVersionsOf(rule);
  if (versions) return versions.flatMap((v) => (v.system === undefined ? [] : [v.system]));
  return [typeof rule.owner === 'string' ? rule.owner : entityOwner];
}

/** The commit time (ms) a `from` stands for: a cutover's `at`, or the ISO time itself; null for an unknown cutover. */
export function effectiveTime(from: string, cutovers: Readonly<Record<string, CutoverSpec>>): number | null {
  const cutover = cutovers[from];
  if (cutover) return Date.parse(cutover.at);
  if (/^\d/.test(from)) return Date.parse(from);
  return null;
}

/** Owner versions with `from` resolved; null with the problem when they do not form a timeline. */
export function resolveOwnerVersions(
  versions: readonly OwnerVersionSpec[], cutovers: Readonly<Record<string, CutoverSpec>>, path: string,
): { versions: ResolvedOwnerVersion[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const resolved: ResolvedOwnerVersion[] = [];
  versions.forEach((version, i) => {
    const at = `${path}.owner[${i}]`;
    if (i === 0) {
      if (version.from !== undefined) problems.push({ path: `${at}.from`, message: 'the first owner is in force before every cutover: it has no from' });
      resolved.push({ ...version, fromMs: null });
      return;
    }
    if (version.from === undefined) {
      problems.push({ path: at, message: 'every owner after the first needs from: a cutover name or an ISO time' });
      return;
    }
    const fromMs = effectiveTime(version.from, cutovers);
    if (fromMs === null) {
      problems.push({ path: `${at}.from`, message: `unknown cutover "${version.from}" (cutovers: ${Object.keys(cutovers).join(', ') || 'none'})` });
      return;
    }
    const previous = resolved.at(-1)?.fromMs ?? null;
    if (previous !== null && fromMs <= previous) {
      problems.push({ path: `${at}.from`, message: `owners are listed in time order: ${version.from} (${new Date(fromMs).toISOString()}) is not after the previous owner's from (${new Date(previous).toISOString()})` });
      return;
    }
    resolved.push({ ...version, fromMs });
  });
  return { versions: resolved, problems };
}

/** Owner versions that do not form a timeline (unknown cutovers, `from` missing or out of order), for the consistency check. */
export function cutoverProblems(config: Pick<TandemConfig, 'entities' | 'cutovers'>): Problem[] {
  const problems: Problem[] = [];
  for (const [name, entity] of Object.entries(config.entities)) {
    const rules = [
      ...Object.entries(entity.fields).map(([field, rule]) => ({ rule, path: `entities.${name}.fields.${field}` })),
      ...Object.entries(entity.groups).map(([group, rule]) => ({ rule, path: `entities.${name}.groups.${group}` })),
    ];
    for (const { rule, path } of rules) {
      const versions = ownerVersionsOf(rule);
      if (!versions) continue;
      problems.push(...resolveOwnerVersions(versions, config.cutovers, path).problems);
    }
  }
  return problems;
}

/**
 * The system that owns a field at `atMs` under its rule (the entity owner when
 * the rule names none); null while a shared policy is in force. An unknown
 * cutover counts as not yet reached (the consistency check reports it).
 */
export function ownerAt(rule: Pick<FieldRuleSpec, 'owner'>, entityOwner: string, cutovers: Readonly<Record<string, CutoverSpec>>, atMs: number): string | null {
  const versions = ownerVersionsOf(rule);
  if (!versions) return typeof rule.owner === 'string' ? rule.owner : entityOwner;
  let owner = versions[0]!.system ?? null;
  for (const version of versions.slice(1)) {
    const fromMs = version.from === undefined ? null : effectiveTime(version.from, cutovers);
    if (fromMs !== null && fromMs <= atMs) owner = version.system ?? null;
  }
  return owner;
}
