export { createSqlServerSource, SqlServerSource } from './source';
export type { SqlServerSourceOptions } from './options';
export type { CdcConnection, QueryRunner, ResultSet, SqlParam } from './queries';
export { decodeSqlServerValue, type ColumnMeta } from './decode-value';
export { eventPosition, parsePosition, snapshotPosition, lsnHex } from './lsn';
export { parseSqlServerConnectionString, mssqlPoolConfig, type SqlServerConnectionConfig } from './connection-string';
