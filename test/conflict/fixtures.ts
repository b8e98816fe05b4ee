import type { ChangeEvent, Value } from '../../src/capture';
import type { CanonicalChange, Fields } from '../../src/transform';

let counter = 0;

export interface ChangeSpec {
  system: string;
  /** Position within the system's stream; must grow per system. */
  seq: number;
  commitTimeMs: number;
  after?: Fields | null;
  before?: Fields | null;
  kind?: 'upsert' | 'delete';
  entity?: string;
  key?: string;
}

/** A canonical change as the transform stage would hand it to the resolver. */
export function change(spec: ChangeSpec): CanonicalChange {
  const position = `${spec.seq.toString(16).toUpperCase().padStart(16, '0')}:00000000`;
  const event: ChangeEvent = {
    op: spec.kind === 'delete' ? 'd' : 'u',
    before: null,
    after: null,
    unavailable: [],
    keyColumns: ['id'],
    source: {
      system: spec.system, connector: 'postgresql', database: spec.system, schema: 'public', table: 't',
      position, txId: String(++counter), commitTimeMs: spec.commitTimeMs, snapshot: 'false', origin: null,
    },
    tsMs: spec.commitTimeMs,
    correlationId: `${spec.system}@${position}`,
  };
  return {
    entity: spec.entity ?? 'customer',
    system: spec.system,
    localKey: spec.key ?? '1',
    key: spec.key ?? 'erp:1',
    kind: spec.kind ?? 'upsert',
    before: spec.before ?? null,
    after: spec.kind === 'delete' ? null : (spec.after ?? {}),
    refs: {},
    event,
  };
}

export function v(value: Value): Value {
  return value;
}
