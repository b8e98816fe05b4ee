import pg from 'pg';
import { decodePgValue as decodeValue, type Row, type Value } from '../capture';
import type { Fields } from '../transform';

/**
 * Reads for the verdict. Rows are fetched as text and decoded by the same
 * function capture uses, so a value read here has exactly the form the
 * pipeline saw and the mapping's converters expect.
 */

/** Every column as PostgreSQL's text output; decoding is by type OID below. */
const AS_TEXT = { getTypeParser: () => (text: string) => text };

export async function readTable(client: pg.ClientBase, schema: string, table: string): Promise<Row[]> {
  const name = `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table)}`;
  const result = await client.query({ text: `SELECT * FROM ${name}`, types: AS_TEXT });
  return result.rows.map((raw: Record<string, string | null>) => {
    const row: Row = {};
    for (const field of result.fields) {
      const text = raw[field.name];
      row[field.name] = text === null || text === undefined ? null : decodeValue(text, field.dataTypeID);
    }
    return row;
  });
}

export interface CanonicalRow {
  key: string;
  fields: Fields;
  deleted: boolean;
}

export async function readRecords(client: pg.ClientBase, schema: string, entity: string): Promise<CanonicalRow[]> {
  const { rows } = await client.query<{ key: string; fields: Fields; deleted: boolean }>(
    `SELECT key, fields, deleted FROM ${client.escapeIdentifier(schema)}.records WHERE entity = $1`,
    [entity],
  );
  return rows;
}

/** Both directions of the crosswalk of one entity in one system. */
export interface Links {
  toLocal: Map<string, string>;
  toCanonical: Map<string, string>;
}

/** entity → system → links. */
export type CrosswalkView = Map<string, Map<string, Links>>;

export async function readCrosswalk(client: pg.ClientBase, schema: string): Promise<CrosswalkView> {
  const { rows } = await client.query<{ entity: string; system: string; local_key: string; canonical_key: string }>(
    `SELECT entity, system, local_key, canonical_key FROM ${client.escapeIdentifier(schema)}.crosswalk`,
  );
  const view: CrosswalkView = new Map();
  for (const r of rows) {
    const systems = view.get(r.entity) ?? new Map<string, Links>();
    view.set(r.entity, systems);
    const links = systems.get(r.system) ?? { toLocal: new Map(), toCanonical: new Map() };
    systems.set(r.system, links);
    links.toLocal.set(r.canonical_key, r.local_key);
    links.toCanonical.set(r.local_key, r.canonical_key);
  }
  return view;
}

export function linksOf(view: CrosswalkView, entity: string, system: string): Links {
  return view.get(entity)?.get(system) ?? { toLocal: new Map(), toCanonical: new Map() };
}

export async function readConflicts(client: pg.ClientBase, schema: string): Promise<{ total: number; byRule: Record<string, number> }> {
  const { rows } = await client.query<{ rule: string; n: string }>(
    `SELECT rule, count(*) AS n FROM ${client.escapeIdentifier(schema)}.conflicts GROUP BY rule ORDER BY rule`,
  );
  const byRule: Record<string, number> = {};
  for (const r of rows) byRule[r.rule] = Number(r.n);
  return { total: Object.values(byRule).reduce((a, b) => a + b, 0), byRule };
}

export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export type { Value };
