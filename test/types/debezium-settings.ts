/**
 * The connector settings the README recommends for exact values (section
 * "Types and exact values"), shared by the matrix tests and checked against
 * docker/connectors/*.json by test/docker/compose.test.ts.
 */
export const PG_EXACT_SETTINGS = {
  'decimal.handling.mode': 'precise',
  'interval.handling.mode': 'string',
  'binary.handling.mode': 'bytes',
  'time.precision.mode': 'adaptive',
  'hstore.handling.mode': 'json',
} as const;

export const MARIADB_EXACT_SETTINGS = {
  'decimal.handling.mode': 'precise',
  'bigint.unsigned.handling.mode': 'precise',
  'binary.handling.mode': 'bytes',
  'time.precision.mode': 'adaptive_time_microseconds',
} as const;

export const SQLSERVER_EXACT_SETTINGS = {
  'decimal.handling.mode': 'precise',
  'binary.handling.mode': 'bytes',
  'time.precision.mode': 'adaptive',
} as const;

/** Connector class → the settings the README recommends for exact values. */
export const EXACT_SETTINGS: Record<string, Record<string, string>> = {
  'io.debezium.connector.postgresql.PostgresConnector': PG_EXACT_SETTINGS,
  'io.debezium.connector.mariadb.MariaDbConnector': MARIADB_EXACT_SETTINGS,
  'io.debezium.connector.mysql.MySqlConnector': MARIADB_EXACT_SETTINGS,
  'io.debezium.connector.sqlserver.SqlServerConnector': SQLSERVER_EXACT_SETTINGS,
};
