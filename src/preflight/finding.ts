/** What `tandem check` (and the start of `tandem run`) reports. */

export type Severity = 'error' | 'warning';

/**
 * The kinds of finding, stable for `--format json` consumers:
 * - `connect`: the system, state store, Redis or Kafka cannot be reached;
 * - `table`, `column`, `key`: mapped objects missing or unusable;
 * - `capacity`: a column cannot hold every value the other systems can send;
 * - `not-null`: a NOT NULL column without default that no mapping fills;
 * - `type`: a column type tandem cannot carry exactly;
 * - `replica-identity`, `wal-level`, `binlog`, `cdc`: capture settings;
 * - `privilege`, `publication`, `slot`: what the user may do;
 * - `rules`: `tandem rules check` errors.
 */
export type CheckKind =
  | 'connect' | 'table' | 'column' | 'key' | 'capacity' | 'not-null' | 'type'
  | 'replica-identity' | 'wal-level' | 'binlog' | 'cdc' | 'privilege' | 'publication' | 'slot' | 'rules';

export interface PreflightFinding {
  severity: Severity;
  /** A configured system, or `stateStore`, `redis`, `kafka`, `rules`. */
  system: string;
  /** `schema.table` (MySQL: `database.table`), when the finding is about one. */
  table: string | null;
  column: string | null;
  check: CheckKind;
  message: string;
  /** What to do about it. */
  fix: string;
}

export interface PreflightReport {
  findings: PreflightFinding[];
  errors: number;
  warnings: number;
}

export function report(findings: PreflightFinding[]): PreflightReport {
  const sorted = [...findings].sort((a, b) => severityRank(a.severity) - severityRank(b.severity));
  return {
    findings: sorted,
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
  };
}

/**
 * 0 without errors; 1 when every error is an unreachable server (a runtime
 * failure: trying again later may pass); 2 when the configuration and the
 * systems disagree.
 */
export function exitCodeOf(result: PreflightReport): 0 | 1 | 2 {
  const errors = result.findings.filter((f) => f.severity === 'error');
  if (errors.length === 0) return 0;
  return errors.every((f) => f.check === 'connect') ? 1 : 2;
}

function severityRank(severity: Severity): number {
  return severity === 'error' ? 0 : 1;
}

/** Builds findings about one system and (optionally) one table. */
export function findingsFor(system: string, table: string | null = null) {
  return (severity: Severity, check: CheckKind, column: string | null, message: string, fix: string): PreflightFinding =>
    ({ severity, system, table, column, check, message, fix });
}
