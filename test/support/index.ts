export { requireEnv, TEST_ENV, HOW_TO_START } from './env';
export { createPgDatabase, dropPgDatabase, type TestDatabase } from './pg';
export { createMysqlDatabase, dropMysqlDatabase } from './mysql';
export { redisPrefix, flushPrefix } from './redis';
export { waitFor, type WaitForOptions } from './wait';
export { uniqueName } from './names';
export {
  requireKafka,
  uniqueTopic,
  registerConnector,
  connectorStatus,
  waitForConnectorRunning,
  postgresConnectorConfig,
  deleteConnector,
  KAFKA_TEST_ENV,
  type TestKafka,
  type ConnectorStatus,
} from './kafka';
