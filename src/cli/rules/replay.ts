import type { Value } from '../../capture';
import { changedFields, resolve, sameValue, type Decision, type ResolveContext, type RuleBook } from '../../conflict';
import type { JournalEntry } from '../../store';
import type { CanonicalChange, CanonicalRecord } from '../../transform';

/** How one field of one change ended under one rule book. */
export interface FieldVerdict {
  /** accepted: the writer's value stands (applied, or already there). */
  outcome: 'accepted' | 'rejected' | 'held';
  kept: Value | null;
}

export interface Difference {
  entity: string;
  key: string;
  /** `*` for the record's existence (a delete). */
  field: string;
  system: string;
  position: string;
  correlationId: string;
  commitTimeMs: number;
  attempted: Value | null;
  current: FieldVerdict;
  proposed: FieldVerdict;
  /** The rule (its version, for a rule that changes at a cutover) that decided on each side. */
  currentRule: string;
  proposedRule: string;
}

export interface SimulationReport {
  changes: number;
  firstCommitMs: number | null;
  lastCommitMs: number | null;
  differences: number;
  /** `entity.field` → `accepted → rejected` → count. */
  counts: Record<string, Record<string, number>>;
  examples: Difference[];
}

type FieldsBySystem = (entity: string) => ResolveContext['fieldsBySystem'];

/**
 * Replays journalled changes through two rule books, each from empty records
 * of its own, and collects every field decision that differs. Differences of
 * changes committed before `sinceMs` are not reported, but the replay still
 * starts at the oldest change so both record maps are right when it matters.
 */
export async function simulate(
  journal: AsyncIterable<JournalEntry>, current: RuleBook, proposed: RuleBook, fieldsBySystem: FieldsBySystem,
  options: { sinceMs?: number; maxExamples: number },
): Promise<SimulationReport> {
  const report: SimulationReport = { changes: 0, firstCommitMs: null, lastCommitMs: null, differences: 0, counts: {}, examples: [] };
  const sides = { current: new Map<string, CanonicalRecord>(), proposed: new Map<string, CanonicalRecord>() };
  for await (const { change } of journal) {
    report.changes++;
    const time = change.event.source.commitTimeMs;
    report.firstCommitMs ??= time;
    report.lastCommitMs = time;
    const before = step(sides.current, change, current, fieldsBySystem);
    const after = step(sides.proposed, change, proposed, fieldsBySystem);
    if (options.sinceMs !== undefined && time < options.sinceMs) continue;
    const rulesOf = { current: ruleLabel(current, change), proposed: ruleLabel(proposed, change) };
    for (const difference of compare(change, before, after, rulesOf)) {
      report.differences++;
      const byField = (report.counts[`${difference.entity}.${difference.field}`] ??= {});
      const how = `${difference.current.outcome} → ${difference.proposed.outcome}`;
      byField[how] = (byField[how] ?? 0) + 1;
      if (report.examples.length < options.maxExamples) report.examples.push(difference);
    }
  }
  return report;
}

function step(records: Map<string, CanonicalRecord>, change: CanonicalChange, rules: RuleBook, fieldsBySystem: FieldsBySystem): Map<string, FieldVerdict> {
  const mapKey = `${change.entity}\u0000${change.key}`;
  const existing = records.get(mapKey) ?? null;
  const decision = resolve(existing, change, { rules: rules.entity(change.entity), fieldsBySystem: fieldsBySystem(change.entity) });
  records.set(mapKey, decision.record);
  return verdicts(decision, change, existing !== null && existing.version > 0 && !existing.deleted);
}

/** Per field the change decided, how it ended. Fields the writer left as they were are not decisions. */
function verdicts(decision: Decision, change: CanonicalChange, existed: boolean): Map<string, FieldVerdict> {
  const out = new Map<string, FieldVerdict>();
  if (decision.skipped) return out;
  const logged = new Map(decision.conflicts.map((c) => [c.field, c]));
  if (change.kind === 'delete') {
    const conflict = logged.get('*');
    out.set('*', { outcome: conflict ? 'rejected' : 'accepted', kept: decision.record.deleted ? null : 'exists' });
    return out;
  }
  const decided = existed ? changedFields(change) : (change.after ?? {});
  for (const field of Object.keys(decided)) {
    const conflict = logged.get(field);
    const kept = decision.record.fields[field] ?? null;
    const outcome = conflict && (conflict.outcome === 'rejected' || conflict.outcome === 'held') ? conflict.outcome : 'accepted';
    out.set(field, { outcome, kept });
  }
  return out;
}

/** The rule a field of this change is judged by under one rule book: its version when it has versions. */
function ruleLabel(rules: RuleBook, change: CanonicalChange): (field: string) => string {
  const entity = rules.entity(change.entity);
  return (field) => {
    if (field === '*') return `${change.entity} owner=${entity.owner} (existence)`;
    const rule = entity.field(field, change.event.source.commitTimeMs);
    return rule.version ?? rule.name;
  };
}

function* compare(
  change: CanonicalChange, current: Map<string, FieldVerdict>, proposed: Map<string, FieldVerdict>,
  rulesOf: { current: (field: string) => string; proposed: (field: string) => string },
): Generator<Difference> {
  for (const field of new Set([...current.keys(), ...proposed.keys()])) {
    const a = current.get(field) ?? { outcome: 'accepted' as const, kept: null };
    const b = proposed.get(field) ?? { outcome: 'accepted' as const, kept: null };
    if (a.outcome === b.outcome && sameValue(a.kept, b.kept)) continue;
    const { source } = change.event;
    yield {
      entity: change.entity, key: change.key!, field, system: change.system, position: source.position,
      correlationId: change.event.correlationId, commitTimeMs: source.commitTimeMs,
      attempted: field === '*' ? null : (change.after?.[field] ?? null), current: a, proposed: b,
      currentRule: rulesOf.current(field), proposedRule: rulesOf.proposed(field),
    };
  }
}
