export { createPostgresSource } from './source';
export type { PostgresSourceOptions, LogFn, LogLevel } from './options';
