/**
 * Reads what each system and the state store hold for a set of records and
 * turns it into observations (classify.ts). Every read is a batch: records
 * and crosswalk links by key, rows by local key.
 */
import type { Knex } from 'knex';
import type { Row, Value } from '../capture';
import { KnexCrosswalk, openTasksFor, recordsByKeys, type RecordState } from '../store';
import type { Fields } from '../transform';
import type { ObservedRow, Observation, Side } from './classify';
import type { TableReader } from './reader';
import type { Explanation } from './types';

/** A side of a compare together with the reader of its table. */
export interface SideReader extends Side {
  reader: TableReader;
}

/** An observation with the version of the record read, so a repair can tell whether it changed since. */
export interface VersionedObservation extends Observation {
  version: number;
  /** A row with no crosswalk link: adopting it links it under `key`. */
  unlinked: boolean;
}

export class Observer {
  /** Open task letters by `<system>\u0000<key>`, read once per entity. */
  constructor(
    private readonly entity: string,
    private readonly sides: readonly SideReader[],
    private readonly store: Knex,
    private readonly schema: string,
    private readonly crosswalk: KnexCrosswalk,
    private readonly letters: ReadonlyMap<string, Explanation>,
  ) {}

  /** Observations of the records with these canonical keys, as each side holds them now. */
  async observeKeys(keys: readonly string[]): Promise<VersionedObservation[]> {
    const records = await recordsByKeys(this.store, this.schema, this.entity, keys);
    const rowsBySide = new Map<string, Map<string, ObservedRow>>();
    const linksBySide = new Map<string, Map<string, string>>();
    // Each side has its own connection: read them at once.
    const [explained] = await Promise.all([
      this.explanations(keys),
      ...this.sides.map(async (side) => {
        const links = await this.crosswalk.localKeys(this.entity, side.system, [...keys]);
        const rows = await side.reader.byLocalKeys([...links.values()]);
        const observed = await this.toObserved(side, [...rows.entries()]);
        linksBySide.set(side.system, links);
        rowsBySide.set(side.system, new Map(observed.map((o) => [o.localKey, o])));
      }),
    ]);
    return keys.map((key) => {
      const rows = new Map<string, ObservedRow | null>();
      for (const side of this.sides) {
        const localKey = linksBySide.get(side.system)!.get(key);
        rows.set(side.system, localKey === undefined ? null : rowsBySide.get(side.system)!.get(localKey) ?? null);
      }
      return observation(this.entity, key, records.get(key), rows, explained.get(key) ?? new Map());
    });
  }

  /**
   * Observations of one side's rows that no live record accounts for: rows
   * without a crosswalk link, linked to no record, or linked to a deleted one.
   * Rows of live records are left out (the record pass compares them).
   */
  async orphansOf(side: SideReader, rows: readonly Row[], onlyUnlinked = false): Promise<VersionedObservation[]> {
    const localKeys = rows.map((row) => side.reader.mapping.localKeyOf(row));
    const links = await this.crosswalk.canonicalKeys(this.entity, side.system, localKeys);
    const records = await recordsByKeys(this.store, this.schema, this.entity, [...links.values()]);
    const orphans: Array<[string, Row]> = [];
    rows.forEach((row, i) => {
      const key = links.get(localKeys[i]!);
      const record = key === undefined ? undefined : records.get(key);
      if (key === undefined || (!onlyUnlinked && (!record || record.deleted))) orphans.push([localKeys[i]!, row]);
    });
    if (orphans.length === 0) return [];
    const observed = await this.toObserved(side, orphans);
    const explained = await this.explanations([...links.values()]);
    return observed.map((o) => {
      const key = links.get(o.localKey);
      const obsKey = key ?? `${side.system}:${o.localKey}`;
      const found = observation(this.entity, obsKey, key === undefined ? undefined : records.get(key), new Map([[side.system, o]]), explained.get(obsKey) ?? new Map());
      return { ...found, unlinked: key === undefined };
    });
  }

  /** Canonical keys of local keys of one side (absent: no link). */
  canonicalKeys(system: string, localKeys: readonly string[]): Promise<Map<string, string>> {
    return this.crosswalk.canonicalKeys(this.entity, system, [...localKeys]);
  }

  /** Rows in canonical form: converters applied, reference columns turned into canonical keys. */
  async toObserved(side: SideReader, rows: ReadonlyArray<readonly [string, Row]>): Promise<ObservedRow[]> {
    const { mapping } = side.reader;
    const refKeys = new Map<string, Map<string, string>>();
    for (const binding of mapping.fields) {
      if (binding.ref === null || refKeys.has(binding.ref)) continue;
      const wanted = rows.map(([, row]) => row[binding.column]).filter((v) => v !== null && v !== undefined).map(String);
      refKeys.set(binding.ref, await this.crosswalk.canonicalKeys(binding.ref, side.system, wanted));
    }
    return rows.map(([localKey, row]) => {
      const fields: Fields = {};
      for (const binding of mapping.fields) {
        const raw = row[binding.column] ?? null;
        if (binding.ref === null) fields[binding.field] = safeConvert(() => binding.toCanonical(raw));
        else fields[binding.field] = raw === null ? null : refKeys.get(binding.ref)!.get(String(raw)) ?? unlinkedRef(side.system, binding.ref, String(raw));
      }
      return { localKey, fields };
    });
  }

  /** Open outbox tasks (pending or in flight) and open dead letters, per record and target. */
  private async explanations(keys: readonly string[]): Promise<Map<string, Map<string, Explanation>>> {
    const out = new Map<string, Map<string, Explanation>>();
    const put = (key: string, system: string, e: Explanation) => {
      const bySystem = out.get(key) ?? new Map<string, Explanation>();
      if (!bySystem.has(system)) bySystem.set(system, e);
      out.set(key, bySystem);
    };
    for (const key of keys) {
      for (const side of this.sides) {
        const letter = this.letters.get(`${side.system}\u0000${key}`);
        if (letter) put(key, side.system, letter);
      }
    }
    const tasks = await openTasksFor(this.store, this.schema, this.entity, this.sides.map((s) => s.system), keys);
    for (const t of tasks) put(t.key, t.target, { by: 'outbox', id: t.id, status: t.status });
    return out;
  }
}

function observation(
  entity: string, key: string, record: RecordState | undefined, rows: Map<string, ObservedRow | null>, explained: Map<string, Explanation>,
): VersionedObservation {
  return {
    entity, key, rows, explained,
    record: record ? { fields: record.fields, deleted: record.deleted } : null,
    version: record?.version ?? 0,
    unlinked: false,
  };
}

/** Shown in place of a reference whose row the crosswalk does not know. */
export function unlinkedRef(system: string, entity: string, localKey: string): string {
  return `(unlinked ${system} ${entity} ${localKey})`;
}

/** A value that will not convert is itself a finding: shown in the difference, not thrown. */
function safeConvert(convert: () => Value): Value {
  try {
    return convert();
  } catch (error) {
    return `(unconvertible: ${error instanceof Error ? error.message : String(error)})`;
  }
}
