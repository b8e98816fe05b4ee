import type { ApplyTask } from '../../src/apply';
import { mappingSpec } from '../../src/config/spec';
import { compileMapping, type Crosswalk, type Mapping } from '../../src/transform';

/** The crosswalk, in memory: enough for a target to look keys up and link them. */
export class MemoryCrosswalk implements Crosswalk {
  private readonly toCanonical = new Map<string, string>();
  private readonly toLocal = new Map<string, string>();

  async canonicalKeys(entity: string, system: string, localKeys: string[]): Promise<Map<string, string>> {
    return pickFrom(this.toCanonical, entity, system, localKeys);
  }

  async localKeys(entity: string, system: string, canonicalKeys: string[]): Promise<Map<string, string>> {
    return pickFrom(this.toLocal, entity, system, canonicalKeys);
  }

  async link(entity: string, system: string, localKey: string, canonicalKey: string): Promise<void> {
    this.toCanonical.set(`${entity}|${system}|${localKey}`, canonicalKey);
    this.toLocal.set(`${entity}|${system}|${canonicalKey}`, localKey);
  }

  /** Forgets a record's link, as if the process died before linking it. */
  forget(entity: string, system: string, canonicalKey: string): void {
    const local = this.toLocal.get(`${entity}|${system}|${canonicalKey}`);
    this.toLocal.delete(`${entity}|${system}|${canonicalKey}`);
    if (local !== undefined) this.toCanonical.delete(`${entity}|${system}|${local}`);
  }
}

function pickFrom(map: Map<string, string>, entity: string, system: string, keys: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const key of keys) {
    const found = map.get(`${entity}|${system}|${key}`);
    if (found !== undefined) out.set(key, found);
  }
  return out;
}

let taskSeq = 0;

export function makeTask(over: Partial<ApplyTask> & Pick<ApplyTask, 'entity' | 'key'>): ApplyTask {
  taskSeq += 1;
  return {
    id: String(taskSeq),
    target: 'erp',
    op: 'upsert',
    fields: {},
    expected: {},
    record: {},
    reason: 'propagate',
    correlationId: `crm@${String(taskSeq).padStart(8, '0')}`,
    attempts: 0,
    createdAtMs: Date.now(),
    ...over,
  };
}

/**
 * The test schema's mappings, compiled by the real mapping compiler:
 * customers (natural key), contacts (uuid key), orders and order lines
 * (database keys, each referencing its parent).
 */
export function testMappings(system: string, schema: string): Map<string, Mapping> {
  const compile = (spec: unknown) => compileMapping(mappingSpec.parse(spec));
  const mappings = [
    compile({
      system, table: `${schema}.customers`, entity: 'customer', key: { columns: ['cust_no'] },
      fields: {
        number: 'cust_no',
        name: { column: 'name', convert: ['trim'] },
        city: 'city',
        credit: { column: 'credit', convert: [{ decimal: { scale: 2 } }] },
        updated_at: 'updated_at',
        rating: { column: 'rating', readOnly: true },
      },
    }),
    compile({
      system, table: `${schema}.contacts`, entity: 'contact', key: { columns: ['id'], generated: 'uuid' },
      fields: { email: 'email', name: 'name', customer: { column: 'cust_no', ref: 'customer' } },
    }),
    compile({
      system, table: `${schema}.orders`, entity: 'sales_order', key: { columns: ['id'], generated: 'database' },
      fields: { number: 'order_no', customer: { column: 'cust_no', ref: 'customer' }, total: 'total', placed_at: 'placed_at' },
    }),
    compile({
      system, table: `${schema}.order_lines`, entity: 'order_line', key: { columns: ['id'], generated: 'database' },
      fields: { order: { column: 'order_id', ref: 'sales_order' }, sku: 'sku', qty: 'qty' },
    }),
  ];
  return new Map(mappings.map((m) => [m.entity, m]));
}

export const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
