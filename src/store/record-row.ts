import type { Value } from '../capture';
import { correlationIdOf } from '../capture/change-event';
import type { CanonicalRecord, FieldProvenance, Fields } from '../transform';

/**
 * How a canonical record is stored in `records` (one row per record, the
 * jsonb columns below). A record is rewritten on every change, so its size is
 * most of the state store's WAL per change; the encoding leaves out what the
 * rest of the row already says:
 *
 * - provenance: the fields that share one origin (system, commit time,
 *   position) grouped together; the correlation id left out when it is the
 *   usual `<system>@<position>`, the position left out when it is the
 *   system's position in `positions` (the newest change's group);
 * - shadows: a system whose shadow holds exactly the record's fields (every
 *   system in step, the usual case) is stored as the string `"="` instead of
 *   a copy of the fields. The exceptions module's SQL reads it the same way
 *   (see `SHADOW_SQL`).
 *
 * Every earlier form is still read: provenance as an object keyed by field,
 * groups that carry their position, shadows as full objects.
 */
export interface RecordRow {
  entity: string;
  key: string;
  fields: Fields;
  provenance: StoredProvenance;
  positions: Record<string, string>;
  shadows: Record<string, Fields | typeof SAME_AS_FIELDS>;
  deleted: boolean;
  version: number;
}

/** A shadow equal to the record's fields. */
export const SAME_AS_FIELDS = '=';

/** SQL for a system's shadow as an object, `"="` expanded (`?` is the system); for UPDATEs of `records`. */
export const SHADOW_SQL = `(CASE WHEN shadows -> ?::text = '"="'::jsonb THEN fields ELSE shadows -> ?::text END)`;

type StoredProvenance = ProvenanceGroup[] | Record<string, Omit<FieldProvenance, 'correlationId'> & { correlationId?: string }>;
interface ProvenanceGroup {
  /** system, commit time (ms) */
  s: string;
  t: number;
  /** the position, when not the system's entry in `positions` */
  p?: string;
  /** the correlation id, when not `<system>@<position>` */
  c?: string;
  /** the commit time's precision in ms, when coarser than 1 (a binlog's whole seconds) */
  q?: number;
  /** the fields */
  f: string[];
}

export function toRow(record: CanonicalRecord): RecordRow {
  const { entity, key, fields, provenance, positions, shadows, deleted, version } = record;
  return { entity, key, fields, provenance: compactProvenance(provenance, positions), positions, shadows: compactShadows(shadows, fields), deleted, version };
}

export function fromRow(row: RecordRow): CanonicalRecord {
  const { entity, key, fields, positions, deleted, version } = row;
  const provenance = expandProvenance(row.provenance, positions);
  return { entity, key, fields, provenance, positions, shadows: expandShadows(row.shadows, fields), deleted, version };
}

/** Sets a property, `__proto__` included (as an own property, never the prototype). */
function put<T>(out: Record<string, T>, name: string, value: T): void {
  if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  else out[name] = value;
}

function compactShadows(shadows: CanonicalRecord['shadows'], fields: Fields): RecordRow['shadows'] {
  const out: RecordRow['shadows'] = {};
  for (const system of Object.keys(shadows)) {
    const shadow = shadows[system]!;
    put(out, system, sameFields(shadow, fields) ? SAME_AS_FIELDS : shadow);
  }
  return out;
}

function expandShadows(stored: RecordRow['shadows'], fields: Fields): CanonicalRecord['shadows'] {
  const out: CanonicalRecord['shadows'] = {};
  for (const system of Object.keys(stored)) {
    const shadow = stored[system]!;
    // A copy each: the resolver changes shadows and fields of the records it is given independently.
    put(out, system, shadow === SAME_AS_FIELDS ? copyFields(fields) : shadow);
  }
  return out;
}

function copyFields(fields: Fields): Fields {
  const out: Fields = {};
  for (const name of Object.keys(fields)) put<Value>(out, name, fields[name] as Value);
  return out;
}

/** Same field names, same values (object key order aside: jsonb does not keep it either). */
function sameFields(a: Fields, b: Fields): boolean {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  for (const name of names) {
    if (!Object.prototype.hasOwnProperty.call(b, name) || !sameJson(a[name] as Value, b[name] as Value)) return false;
  }
  return true;
}

function sameJson(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => sameJson(v, b[i] as Value));
  }
  return sameFields(a, b);
}

function expandProvenance(stored: StoredProvenance, positions: Record<string, string>): CanonicalRecord['provenance'] {
  const out: CanonicalRecord['provenance'] = {};
  if (Array.isArray(stored)) {
    for (const g of stored) {
      const position = g.p ?? positions[g.s]!;
      // One object for the group's fields: provenance objects are replaced, never changed in place.
      const p: FieldProvenance = { system: g.s, commitTimeMs: g.t, position, correlationId: g.c ?? correlationIdOf(g.s, position) };
      if (g.q !== undefined) p.commitTimePrecisionMs = g.q;
      for (const field of g.f) put(out, field, p);
    }
    return out;
  }
  for (const field of Object.keys(stored)) {
    const p = stored[field]!;
    put(out, field, { ...p, correlationId: p.correlationId ?? correlationIdOf(p.system, p.position) });
  }
  return out;
}

/** A group being built, with the values it was made from. */
interface Building {
  group: ProvenanceGroup;
  from: FieldProvenance;
}

function compactProvenance(provenance: CanonicalRecord['provenance'], positions: Record<string, string>): ProvenanceGroup[] {
  // A record has one to a few origins: a linear search by value beats building a string id per field.
  const building: Building[] = [];
  for (const field of Object.keys(provenance)) {
    const p = provenance[field]!;
    let found: Building | undefined;
    for (const b of building) {
      const f = b.from;
      if (f === p || (f.system === p.system && f.commitTimeMs === p.commitTimeMs && f.position === p.position && f.correlationId === p.correlationId
        && f.commitTimePrecisionMs === p.commitTimePrecisionMs)) {
        found = b;
        break;
      }
    }
    if (!found) {
      found = { group: groupOf(p, positions), from: p };
      building.push(found);
    }
    found.group.f.push(field);
  }
  return building.map((b) => b.group);
}

function groupOf(p: FieldProvenance, positions: Record<string, string>): ProvenanceGroup {
  const group: ProvenanceGroup = { s: p.system, t: p.commitTimeMs, f: [] };
  if (!Object.prototype.hasOwnProperty.call(positions, p.system) || positions[p.system] !== p.position) group.p = p.position;
  if (p.correlationId !== correlationIdOf(p.system, p.position)) group.c = p.correlationId;
  if (p.commitTimePrecisionMs !== undefined) group.q = p.commitTimePrecisionMs;
  return group;
}
