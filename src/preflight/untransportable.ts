/**
 * Column types tandem cannot carry exactly, from the type matrix of issue 12
 * (README "Types and exact values"; the matrix tests under test/types). One table, so the list lives in one place:
 * a mapped column of such a type is refused unless its field mapping has an
 * explicit converter (the operator then says what the value becomes).
 */
import type { Dialect } from './catalog';

export interface UntransportableType {
  dialect: Dialect;
  /** Matched against information_schema's `data_type` and the full type (`geometry(Point,4326)`), lower-case. */
  type: RegExp;
  /** Which capture path loses it: every path, or Debezium over Kafka only. */
  via: 'any' | 'debezium';
  reason: string;
}

/**
 * The "refuse" rows of the matrix. Value-level limits (a PostgreSQL
 * 'infinity' into a MariaDB DATETIME, NaN into DECIMAL) are refused per row
 * by apply, not here; pairs of types that lose values (MariaDB TIME into a
 * PostgreSQL time, BIGINT UNSIGNED into bigint) are capacity warnings.
 * Connector settings tandem cannot see (Debezium's decimal, bigint,
 * time-precision and binary handling modes) are documented in the README.
 */
export const UNTRANSPORTABLE_TYPES: readonly UntransportableType[] = [
  { dialect: 'postgres', type: /^(point|line|lseg|box|path|polygon|circle)$|^geometry\b|^geography\b/, via: 'any', reason: 'geometric and spatial values are not carried (Debezium\u2019s geometry structs and the native text differ)' },
  { dialect: 'mysql', type: /^(geometry|point|linestring|polygon|multipoint|multilinestring|multipolygon|geometrycollection)$/, via: 'any', reason: 'spatial values have no canonical form' },
  { dialect: 'sqlserver', type: /^(sql_variant|hierarchyid|geography|geometry)$/, via: 'any', reason: 'no canonical form: the value is not read back the same' },
  { dialect: 'postgres', type: /^interval$/, via: 'debezium', reason: 'Debezium\u2019s default numeric interval mode folds months and days into microseconds (30.4375-day months); set interval.handling.mode=string on the connector' },
  { dialect: 'postgres', type: /^bit varying\b/, via: 'debezium', reason: 'Debezium sends varbit as a number and loses its leading zeros' },
];

/** The entry that refuses this column, if any. */
export function untransportable(dialect: Dialect, column: { dataType: string; type: string }, viaDebezium: boolean): UntransportableType | undefined {
  return UNTRANSPORTABLE_TYPES.find((t) => t.dialect === dialect && (t.type.test(column.dataType) || t.type.test(column.type.toLowerCase())) && (t.via === 'any' || viaDebezium));
}
