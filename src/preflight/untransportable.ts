/**
 * Column types tandem cannot carry exactly, from the type matrix of issue 12
 * (`/work/coord/untransportable-types.md` while it is being written; the
 * README's type table once merged). One table, so the list lives in one place:
 * a mapped column of such a type is refused unless its field mapping has an
 * explicit converter (the operator then says what the value becomes).
 */
import type { Dialect } from './catalog';

export interface UntransportableType {
  dialect: Dialect;
  /** information_schema `data_type`, lower-case. */
  dataType: RegExp;
  /** Which capture path loses it: every path, or Debezium over Kafka only. */
  via: 'any' | 'debezium';
  reason: string;
}

export const UNTRANSPORTABLE_TYPES: readonly UntransportableType[] = [
  { dialect: 'postgres', dataType: /^interval$/, via: 'debezium', reason: 'Debezium\u2019s numeric interval mode folds months and days into microseconds (set interval.handling.mode=string on the connector, then map it with a converter)' },
  { dialect: 'postgres', dataType: /^bit varying$/, via: 'debezium', reason: 'Debezium sends varbit as a number and loses its leading zeros' },
  { dialect: 'sqlserver', dataType: /^(sql_variant|hierarchyid|geography|geometry)$/, via: 'any', reason: 'no canonical form: the value is not read back the same' },
  { dialect: 'mysql', dataType: /^(geometry|point|linestring|polygon|multipoint|multilinestring|multipolygon|geometrycollection)$/, via: 'any', reason: 'spatial values have no canonical form' },
];

/** The entry that refuses this column, if any. */
export function untransportable(dialect: Dialect, dataType: string, viaDebezium: boolean): UntransportableType | undefined {
  return UNTRANSPORTABLE_TYPES.find((t) => t.dialect === dialect && t.dataType.test(dataType) && (t.via === 'any' || viaDebezium));
}
