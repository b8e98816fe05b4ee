export { createMysqlSource } from './source';
export type { MysqlSourceOptions } from './options';
export { emitMysqlMark } from './heartbeat';
export { resumePointOf, streamPosition, snapshotPosition, isMysqlPosition } from './position';
export { convertValue } from './values';
