/** What the SQL connectors (PostgreSQL, MySQL/MariaDB, SQL Server) share: the SQL target and checkpoint lag. */
import { SqlTarget, type SqlType } from '../apply';
import type { Checkpoint } from '../store';
import type { TargetContext } from './types';

/** The SQL apply target of a system, in `dialect`. */
export function sqlTarget(ctx: TargetContext, dialect: SqlType): SqlTarget {
  const { spec } = ctx;
  return new SqlTarget({
    system: ctx.system,
    type: dialect,
    connectionString: ctx.url(),
    origin: spec.apply.origin,
    // Only types whose connector allows it accept echoServerId (the config spec checks).
    echoServerId: spec.apply.echoServerId,
    // A target that is also captured may change under us: write only what we last saw.
    conditional: spec.apply.conditional ?? (spec.capture !== undefined || spec.debezium !== undefined),
    poolSize: spec.apply.poolSize,
    log: ctx.logger,
  });
}

/** Seconds since the commit time of the last durable change (null before the first). */
export function checkpointLag(checkpoint: Checkpoint | undefined, nowMs = Date.now()): number | null {
  return checkpoint?.sourceTime ? (nowMs - checkpoint.sourceTime.getTime()) / 1000 : null;
}
