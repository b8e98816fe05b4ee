/**
 * PostgreSQL server checks: what logical replication needs of a captured
 * system (wal_level, REPLICATION, the publication and slot, REPLICA IDENTITY
 * FULL, SELECT for the snapshot) and what writing needs of every system
 * (replication origins, table privileges). Read-only: nothing is created.
 */
import type { PostgresCaptureConfig, TandemConfig } from '../config';
import type { CatalogDb } from './catalog-db';
import { findingsFor, type PreflightFinding } from './finding';
import { reliesOnBeforeImages, type MappedTable } from './mapped-columns';

interface Role {
  username: string;
  database: string;
  wal_level: string;
  rolsuper: boolean;
  rolreplication: boolean;
  can_create: boolean;
  origin_create: boolean | null;
  origin_setup: boolean | null;
}

interface TableFacts {
  relreplident: string;
  owned: boolean;
  can_select: boolean;
  can_insert: boolean;
  can_update: boolean;
  can_delete: boolean;
}

const IDENTITY_NAMES: Record<string, string> = { d: 'DEFAULT', n: 'NOTHING', i: 'USING INDEX', f: 'FULL' };

export async function postgresFindings(db: CatalogDb, config: TandemConfig, system: string, tables: MappedTable[]): Promise<PreflightFinding[]> {
  const spec = config.systems[system]!;
  const finding = findingsFor(system);
  const [role] = await db.query<Role>(`
    SELECT current_user AS username, current_database() AS database, current_setting('wal_level') AS wal_level, r.rolsuper, r.rolreplication,
           has_database_privilege(current_database(), 'CREATE') AS can_create,
           has_function_privilege(to_regprocedure('pg_replication_origin_create(text)'), 'EXECUTE') AS origin_create,
           has_function_privilege(to_regprocedure('pg_replication_origin_session_setup(text)'), 'EXECUTE') AS origin_setup
      FROM pg_roles r WHERE r.rolname = current_user`);
  if (!role) return [];
  const out: PreflightFinding[] = [];
  const facts = new Map<string, TableFacts>();
  for (const table of tables) {
    const [row] = await db.query<TableFacts>(`
      SELECT c.relreplident, pg_has_role(c.relowner, 'USAGE') AS owned,
             has_table_privilege(c.oid, 'SELECT') AS can_select, has_table_privilege(c.oid, 'INSERT') AS can_insert,
             has_table_privilege(c.oid, 'UPDATE') AS can_update, has_table_privilege(c.oid, 'DELETE') AS can_delete
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p')`, [table.schema, table.name]);
    if (row) facts.set(table.table, row);
  }

  if (spec.capture) out.push(...await nativeCapture(db, role, spec.capture as PostgresCaptureConfig, tables, facts, finding));
  if (spec.capture || spec.debezium) out.push(...replicaIdentity(config, tables, facts));
  out.push(...writing(role, tables, facts, finding));
  return out;
}

async function nativeCapture(
  db: CatalogDb, role: Role, capture: PostgresCaptureConfig, tables: MappedTable[], facts: Map<string, TableFacts>, finding: ReturnType<typeof findingsFor>,
): Promise<PreflightFinding[]> {
  const out: PreflightFinding[] = [];
  const user = role.username;
  if (role.wal_level !== 'logical') {
    out.push(finding('error', 'wal-level', null, `wal_level is ${role.wal_level}: logical replication needs logical`,
      'set wal_level = logical (postgresql.conf or ALTER SYSTEM) and restart the server'));
  }
  if (!role.rolsuper && !role.rolreplication) {
    out.push(finding('error', 'privilege', null, `${user} has neither the REPLICATION attribute nor superuser: it cannot open a replication connection`,
      `ALTER ROLE ${user} REPLICATION`));
  }
  for (const table of tables) {
    const f = facts.get(table.table);
    if (f && !f.can_select) {
      out.push(findingsFor(table.system, table.spec.table)('error', 'privilege', null, `${user} may not SELECT from ${table.table}: the initial snapshot reads it`,
        `GRANT SELECT ON ${table.table} TO ${user}`));
    }
  }
  const existing = tables.filter((t) => facts.has(t.table)).map((t) => t.table);
  out.push(...await publication(db, role, capture.publication, existing, facts, finding));
  const [slot] = await db.query<{ plugin: string; database: string; slot_type: string }>(
    'SELECT plugin, database, slot_type FROM pg_replication_slots WHERE slot_name = ?', [capture.slot]);
  if (slot && (slot.slot_type !== 'logical' || slot.plugin !== 'pgoutput' || slot.database !== role.database)) {
    out.push(finding('error', 'slot', null, `replication slot ${capture.slot} exists but is a ${slot.slot_type} slot (${slot.plugin ?? 'no plugin'}) of database ${slot.database ?? '-'}, not a pgoutput slot of ${role.database}`,
      `choose another capture.slot, or drop the slot (SELECT pg_drop_replication_slot('${capture.slot}')) if nothing uses it`));
  }
  return out;
}

/** The publication exists with the tables, or tandem may create or extend it (CREATE on the database, owning the tables). */
async function publication(
  db: CatalogDb, role: Role, name: string, tables: string[], facts: Map<string, TableFacts>, finding: ReturnType<typeof findingsFor>,
): Promise<PreflightFinding[]> {
  const [pub] = await db.query<{ puballtables: boolean; owned: boolean }>(
    `SELECT puballtables, pg_has_role(pubowner, 'USAGE') AS owned FROM pg_publication WHERE pubname = ?`, [name]);
  if (pub?.puballtables) return [];
  const published = pub ? new Set((await db.query<{ name: string }>(
    `SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables WHERE pubname = ?`, [name])).map((r) => r.name)) : new Set<string>();
  const missing = tables.filter((t) => !published.has(t));
  if (missing.length === 0 || role.rolsuper) return [];
  const notOwned = missing.filter((t) => !facts.get(t)?.owned);
  const reasons: string[] = [];
  if (!pub && !role.can_create) reasons.push(`it has no CREATE privilege on database ${role.database}`);
  if (pub && !pub.owned) reasons.push('it does not own the publication');
  if (notOwned.length > 0) reasons.push(`it does not own ${notOwned.join(', ')}`);
  if (reasons.length === 0) return [];
  const what = pub ? `publication ${name} lacks ${missing.join(', ')} and ${role.username} cannot add them` : `publication ${name} does not exist and ${role.username} cannot create it`;
  const fix = pub ? `ALTER PUBLICATION ${name} ADD TABLE ${missing.join(', ')} (as its owner or a superuser)` : `CREATE PUBLICATION ${name} FOR TABLE ${missing.join(', ')} (as the tables' owner or a superuser)`;
  return [finding('error', 'publication', null, `${what}: ${reasons.join('; ')}`, fix)];
}

/**
 * REPLICA IDENTITY FULL gives updates and deletes their before-images. An
 * error where decisions read them (see `reliesOnBeforeImages`), a warning
 * where they only make the log richer.
 */
function replicaIdentity(config: TandemConfig, tables: MappedTable[], facts: Map<string, TableFacts>): PreflightFinding[] {
  const out: PreflightFinding[] = [];
  for (const table of tables) {
    const f = facts.get(table.table);
    if (!f || f.relreplident === 'f') continue;
    const reason = reliesOnBeforeImages(config, table);
    const identity = IDENTITY_NAMES[f.relreplident] ?? f.relreplident;
    const message = reason
      ? `REPLICA IDENTITY is ${identity}: updates come without before-images and ${reason} (a stale value would count as an edit)`
      : `REPLICA IDENTITY is ${identity}: updates come without before-images (${table.system} owns every field it maps here, so only the conflict log's before-values are lost)`;
    out.push(findingsFor(table.system, table.spec.table)(reason ? 'error' : 'warning', 'replica-identity', null, message, `ALTER TABLE ${table.table} REPLICA IDENTITY FULL`));
  }
  return out;
}

function writing(role: Role, tables: MappedTable[], facts: Map<string, TableFacts>, finding: ReturnType<typeof findingsFor>): PreflightFinding[] {
  const out: PreflightFinding[] = [];
  const user = role.username;
  if (!role.rolsuper && !(role.origin_create && role.origin_setup)) {
    out.push(finding('error', 'privilege', null, `${user} may not use replication origins: every connection tandem writes with sets one up, so its echoes are recognised`,
      `GRANT EXECUTE ON FUNCTION pg_replication_origin_create(text), pg_replication_origin_session_setup(text), pg_replication_origin_oid(text) TO ${user} (as a superuser)`));
  }
  for (const table of tables) {
    const f = facts.get(table.table);
    if (!f) continue;
    const lacking = (['select', 'insert', 'update'] as const).filter((p) => !f[`can_${p}`]).map((p) => p.toUpperCase());
    const at = findingsFor(table.system, table.spec.table);
    if (lacking.length > 0) out.push(at('error', 'privilege', null, `${user} may not ${lacking.join(', ')} ${table.table}: tandem's writes would be refused`, `GRANT ${lacking.join(', ')} ON ${table.table} TO ${user}`));
    if (!f.can_delete) out.push(at('warning', 'privilege', null, `${user} may not DELETE from ${table.table}: deletes made in other systems would be refused here`, `GRANT DELETE ON ${table.table} TO ${user}`));
  }
  return out;
}
